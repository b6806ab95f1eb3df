//! Byte sizes as users write and read them: parsing `240KiB`, `10MB`, `1.5 GiB` or plain bytes,
//! and formatting a byte count for humans (`12.4 MiB`).

use std::fmt;

/// Largest size graphprof accepts anywhere a size is given: 1 TiB.
pub const MAX_SIZE_BYTES: u64 = 1 << 40;

/// A size that could not be parsed, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid size '{input}': {reason}")]
pub struct SizeError {
    /// What the user wrote.
    pub input: String,
    /// Why it was refused.
    pub reason: String,
}

/// Parses a size: a non-negative number with an optional unit. `KB`, `MB`, `GB`, `TB` are powers
/// of 1000 (as Dask's `parse_bytes`), `KiB`, `MiB`, `GiB`, `TiB` powers of 1024, `B` or nothing
/// bytes. Units are case-insensitive; a space between number and unit is allowed.
pub fn parse_size(input: &str) -> Result<u64, SizeError> {
    let err = |reason: &str| SizeError {
        input: input.to_string(),
        reason: reason.to_string(),
    };
    let text = input.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    if number.is_empty() {
        return Err(err("expected a number such as 240KiB, 10MB or 4096"));
    }
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return Err(err("unknown unit (use B, KB, MB, GB, KiB, MiB, GiB)")),
    };
    let value: f64 = number.parse().map_err(|_| err("not a number"))?;
    if multiplier == 1 && number.contains('.') {
        return Err(err("a number of bytes is whole"));
    }
    let bytes = (value * multiplier as f64).round();
    if !bytes.is_finite() || bytes > MAX_SIZE_BYTES as f64 {
        return Err(err("larger than the 1 TiB limit"));
    }
    Ok(bytes as u64)
}

/// Parses a duration: a number with `ms`, `s` or `m` (`10ms`, `0.5s`, `2m`); a plain number is
/// seconds. Negative, non-finite and over-a-day durations are refused.
pub fn parse_duration(input: &str) -> Result<std::time::Duration, String> {
    let text = input.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration '{input}': expected e.g. 10ms, 0.5s, 2m"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" | "min" => value * 60.0,
        "us" | "µs" => value / 1e6,
        other => {
            return Err(format!(
                "invalid duration '{input}': unknown unit '{other}'"
            ));
        }
    };
    if !seconds.is_finite() || seconds > 86_400.0 {
        return Err(format!("invalid duration '{input}': longer than a day"));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

/// A count for human output, with thousands separators: `2,048`. Every human-readable
/// output formats counts (tasks, chunks, copies, samples) with this one function.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A signed change in a count, with its sign and separators: `+1,024`, `-3`, `+0`.
pub fn signed_count(delta: i128) -> String {
    let sign = if delta < 0 { '-' } else { '+' };
    let magnitude = u64::try_from(delta.unsigned_abs()).unwrap_or(u64::MAX);
    format!("{sign}{}", count(magnitude))
}

/// A byte count that displays in binary units: `512 B`, `240.0 KiB`, `12.4 MiB`, `1.50 GiB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
        if self.0 < 1024 {
            return write!(f, "{} B", self.0);
        }
        let mut value = self.0 as f64 / 1024.0;
        let mut unit = 0;
        loop {
            // Pick the precision from the value as it will be printed, so that 1,048,575 B is
            // "1.00 MiB", not "1024 KiB", and 10,239 B is "10.0 KiB", not "10.00 KiB".
            let decimals = if value >= 99.95 {
                0
            } else if value >= 9.995 {
                1
            } else {
                2
            };
            let scale = 10f64.powi(decimals);
            let rounded = (value * scale).round() / scale;
            if rounded >= 1024.0 && unit < UNITS.len() - 1 {
                value /= 1024.0;
                unit += 1;
                continue;
            }
            return write!(
                f,
                "{rounded:.prec$} {}",
                UNITS[unit],
                prec = decimals as usize
            );
        }
    }
}

/// A byte count in decimal units, the way Dask writes its thresholds: `10 MB`, `1.5 GB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecimalBytes(pub u64);

impl fmt::Display for DecimalBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(&str, f64); 4] = [("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)];
        for (unit, scale) in UNITS {
            if self.0 as f64 >= scale {
                let value = self.0 as f64 / scale;
                let text = format!("{value:.2}");
                let text = text.trim_end_matches('0').trim_end_matches('.');
                return write!(f, "{text} {unit}");
            }
        }
        write!(f, "{} B", self.0)
    }
}

/// A signed byte difference for change reports: `+1.20 MiB`, `-240 KiB`, `0 B`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BytesDelta(pub i128);

impl fmt::Display for BytesDelta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let magnitude = Bytes(self.0.unsigned_abs().min(u64::MAX as u128) as u64);
        match self.0.signum() {
            1 => write!(f, "+{magnitude}"),
            -1 => write!(f, "-{magnitude}"),
            _ => write!(f, "{magnitude}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(2048), "2,048");
        assert_eq!(count(1_000_000), "1,000,000");
        assert_eq!(signed_count(-1024), "-1,024");
        assert_eq!(signed_count(5), "+5");
    }

    #[test]
    fn parses_decimal_and_binary_units() {
        assert_eq!(parse_size("240KiB"), Ok(245_760));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("10 mb"), Ok(10_000_000));
        assert_eq!(parse_size("1.5GiB"), Ok(1_610_612_736));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("7B"), Ok(7));
    }

    #[test]
    fn refuses_garbage_negative_and_absurd() {
        assert!(parse_size("").is_err());
        assert!(parse_size("-5").is_err());
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("2TiB").is_err());
        assert!(parse_size("1.2.3").is_err());
        assert!(parse_size("0.3").is_err());
    }

    #[test]
    fn parses_durations() {
        use std::time::Duration;
        assert_eq!(parse_duration("10ms"), Ok(Duration::from_millis(10)));
        assert_eq!(parse_duration("0.5s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("1e9").is_err());
    }

    #[test]
    fn formats_binary_units() {
        assert_eq!(Bytes(512).to_string(), "512 B");
        assert_eq!(Bytes(245_760).to_string(), "240 KiB");
        assert_eq!(Bytes(13_002_342).to_string(), "12.4 MiB");
        assert_eq!(Bytes(1_610_612_736).to_string(), "1.50 GiB");
        assert_eq!(Bytes(1_048_575).to_string(), "1.00 MiB");
        assert_eq!(Bytes(10_239).to_string(), "10.0 KiB");
        assert_eq!(Bytes(102_399).to_string(), "100 KiB");
        assert_eq!(Bytes(1023 * 1024).to_string(), "1023 KiB");
        assert_eq!(DecimalBytes(10_000_000).to_string(), "10 MB");
        assert_eq!(DecimalBytes(1_500_000_000).to_string(), "1.5 GB");
        assert_eq!(BytesDelta(-245_760).to_string(), "-240 KiB");
        assert_eq!(BytesDelta(2048).to_string(), "+2.00 KiB");
    }
}
