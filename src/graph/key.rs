//! Task keys as Dask writes them: a string (`'make_mapper-0b1c...'`) or a tuple whose first element
//! is a name (`('f-77ab', 3)`). Keys are stored as one tagged string so that they intern cheaply
//! and a string key can never be confused with a tuple key; `layer` is Dask's `key_split`.

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use std::fmt;

const STRING_TAG: char = 's';
const TUPLE_TAG: char = 't';

/// An owned key: `s<string>` or `t<compact JSON array>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key(Box<str>);

impl Key {
    /// A string key.
    pub fn string(name: &str) -> Key {
        Key(format!("{STRING_TAG}{name}").into())
    }

    /// A tuple key `(name, index)`, the shape of every chunk key in dask.array.
    pub fn chunk(name: &str, index: u64) -> Key {
        let mut tagged = String::with_capacity(name.len() + 26);
        tagged.push(TUPLE_TAG);
        tagged.push('[');
        push_json_string(&mut tagged, name);
        tagged.push(',');
        tagged.push_str(itoa_u64(index, &mut [0u8; 20]));
        tagged.push(']');
        Key(tagged.into())
    }

    /// The tagged form, unique per key; used for interning.
    pub fn tagged(&self) -> &str {
        &self.0
    }

    /// Rebuilds a key from its tagged form.
    pub fn from_tagged(tagged: &str) -> Key {
        Key(tagged.into())
    }

    /// The key's name: the string itself, or a tuple's first element.
    pub fn name(&self) -> String {
        key_name(&self.0)
    }

    /// The layer the key belongs to, as Dask's `key_split` computes it.
    pub fn layer(&self) -> String {
        layer_of_name(&self.name())
    }
}

/// Appends `text` as a JSON string, escaped exactly as `serde_json` escapes it, so that tagged
/// keys built here and by `serde_json` are byte-identical.
pub(crate) fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    let mut start = 0;
    for (at, byte) in text.bytes().enumerate() {
        let escape: &str = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[start..at]);
        if escape.is_empty() {
            out.push_str(&format!("\\u{byte:04x}"));
        } else {
            out.push_str(escape);
        }
        start = at + 1;
    }
    out.push_str(&text[start..]);
    out.push('"');
}

/// Formats an integer into `buffer` without allocating.
pub(crate) fn itoa_u64(mut value: u64, buffer: &mut [u8; 20]) -> &str {
    let mut at = buffer.len();
    loop {
        at -= 1;
        buffer[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    std::str::from_utf8(&buffer[at..]).expect("ASCII digits")
}

/// The name of a tagged key as it is stored: the string itself, or a tuple's first element still
/// JSON-escaped and quoted. Equal names give equal slices, so this is a cheap cache key for
/// [`key_name`] and [`layer_of_name`].
pub fn key_name_token(tagged: &str) -> &str {
    let Some(json) = tagged.strip_prefix(TUPLE_TAG) else {
        return tagged.get(1..).unwrap_or("");
    };
    // `["name",...`: the name ends at the first quote that is not escaped.
    let bytes = json.as_bytes();
    let mut at = 2;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 2,
            b'"' => return &json[1..=at],
            _ => at += 1,
        }
    }
    json
}

/// Name of a tagged key (see [`Key::name`]).
pub fn key_name(tagged: &str) -> String {
    match tagged.strip_prefix(TUPLE_TAG) {
        // Parse only the first element: `t["name",3]` -> `name`.
        Some(json) => json
            .get(1..)
            .and_then(|rest| {
                serde_json::Deserializer::from_str(rest)
                    .into_iter::<String>()
                    .next()
                    .and_then(Result::ok)
            })
            .unwrap_or_default(),
        None => tagged.get(1..).unwrap_or("").to_string(),
    }
}

pub(crate) fn tuple_elements(tagged: &str) -> Option<Vec<serde_json::Value>> {
    let json = tagged.strip_prefix(TUPLE_TAG)?;
    serde_json::from_str(json).ok()
}

/// The elements of a tuple key after its name, joined by commas (`3, 0` for `('x', 3, 0)`);
/// empty for a string key.
pub fn index_of(tagged: &str) -> String {
    match tuple_elements(tagged) {
        Some(elements) => elements
            .iter()
            .skip(1)
            .map(|element| match element {
                serde_json::Value::String(text) => text.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        None => String::new(),
    }
}

/// Displays a tagged key the way Python prints it: `name` or `('name', 3)`.
pub fn display_key(tagged: &str) -> String {
    match tuple_elements(tagged) {
        Some(elements) => {
            let parts: Vec<String> = elements
                .iter()
                .map(|element| match element {
                    serde_json::Value::String(text) => format!("'{text}'"),
                    other => other.to_string(),
                })
                .collect();
            if parts.len() == 1 {
                format!("({},)", parts[0])
            } else {
                format!("({})", parts.join(", "))
            }
        }
        None => tagged.get(1..).unwrap_or("").to_string(),
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&display_key(&self.0))
    }
}

fn is_hex_token(word: &str) -> bool {
    !word.is_empty() && word.chars().all(|c| c.is_ascii_hexdigit())
}

/// Dask's `key_split` on a key name: keep the leading words, drop from the first word that is not
/// purely alphabetic or that is an 8-character hex token (uuid pieces, tokens, numbers).
/// `'f-77ab...'` -> `f`, `'make_mapper-0b1c-...'` -> `make_mapper`, `'read-csv-abc'` ->
/// `read-csv`; a bare 32-character hex name is `data`.
pub fn layer_of_name(name: &str) -> String {
    let mut words = name.split('-');
    let first = words.next().unwrap_or("");
    let mut layer = if first.chars().next().is_some_and(|c| c.is_alphabetic()) {
        first.to_string()
    } else {
        first
            .split(',')
            .next()
            .unwrap_or("")
            .trim_matches(|c| "_'()\"".contains(c))
            .to_string()
    };
    for word in words {
        let alphabetic = !word.is_empty() && word.chars().all(|c| c.is_alphabetic());
        if alphabetic && !(word.len() == 8 && is_hex_token(word)) {
            layer.push('-');
            layer.push_str(word);
        } else {
            break;
        }
    }
    if layer.len() == 32 && is_hex_token(&layer) {
        return "data".to_string();
    }
    if layer.is_empty() {
        return "Other".to_string();
    }
    layer
}

impl serde::Serialize for Key {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match tuple_elements(&self.0) {
            Some(elements) => {
                let mut seq = serializer.serialize_seq(Some(elements.len()))?;
                for element in &elements {
                    seq.serialize_element(element)?;
                }
                seq.end()
            }
            None => serializer.serialize_str(self.0.get(1..).unwrap_or("")),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_any(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(
            "a key: a string, or an array [name, index, ...] of a string and integers or strings",
        )
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Key, E> {
        Ok(Key::string(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Key, A::Error> {
        let mut tagged = String::with_capacity(64);
        tagged.push(TUPLE_TAG);
        tagged.push('[');
        let named = seq.next_element_seed(AppendElement {
            out: &mut tagged,
            name: true,
        })?;
        if named.is_none() {
            return Err(de::Error::custom(
                "a tuple key needs a name as its first element",
            ));
        }
        loop {
            let before = tagged.len();
            tagged.push(',');
            let more = seq.next_element_seed(AppendElement {
                out: &mut tagged,
                name: false,
            })?;
            if more.is_none() {
                tagged.truncate(before);
                break;
            }
        }
        tagged.push(']');
        Ok(Key(tagged.into()))
    }
}

/// Appends one tuple-key element to a tagged key as it is parsed, without an intermediate
/// `String` or `Value`: the name (a string), or an integer or string after it.
struct AppendElement<'a> {
    out: &'a mut String,
    name: bool,
}

impl<'de> de::DeserializeSeed<'de> for AppendElement<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        if self.name {
            deserializer.deserialize_str(self)
        } else {
            deserializer.deserialize_any(self)
        }
    }
}

impl<'de> Visitor<'de> for AppendElement<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.name {
            f.write_str("a string: the name of a tuple key")
        } else {
            f.write_str("a tuple key element: an integer or a string")
        }
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<(), E> {
        push_json_string(self.out, value);
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<(), E> {
        if self.name || value > i64::MAX as u64 {
            return Err(E::invalid_type(de::Unexpected::Unsigned(value), &self));
        }
        self.out.push_str(itoa_u64(value, &mut [0u8; 20]));
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<(), E> {
        if self.name {
            return Err(E::invalid_type(de::Unexpected::Signed(value), &self));
        }
        if value < 0 {
            self.out.push('-');
        }
        self.out
            .push_str(itoa_u64(value.unsigned_abs(), &mut [0u8; 20]));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_follow_dask_key_split() {
        assert_eq!(layer_of_name("f-77ab3c0d5e6f77ab3c0d5e6f77ab3c0d"), "f");
        assert_eq!(
            layer_of_name("make_mapper-0b1c2d3e-aaaa-4bbb-8ccc-0123456789ab"),
            "make_mapper"
        );
        assert_eq!(layer_of_name("read-csv-abcdef0123"), "read-csv");
        assert_eq!(layer_of_name("x"), "x");
        assert_eq!(layer_of_name("0123456789abcdef0123456789abcdef"), "data");
        assert_eq!(layer_of_name("('sum-agg', 1)"), "sum");
    }

    #[test]
    fn string_and_tuple_keys_round_trip_and_stay_distinct() {
        let tuple: Key = serde_json::from_str(r#"["f-77ab", 3]"#).unwrap();
        assert_eq!(tuple.to_string(), "('f-77ab', 3)");
        assert_eq!(tuple.layer(), "f");
        assert_eq!(serde_json::to_string(&tuple).unwrap(), r#"["f-77ab",3]"#);
        assert_eq!(tuple, Key::chunk("f-77ab", 3));
        let string: Key = serde_json::from_str(r#""[\"f-77ab\",3]""#).unwrap();
        assert_ne!(string, tuple);
        assert_eq!(
            serde_json::to_string(&string).unwrap(),
            r#""[\"f-77ab\",3]""#
        );
    }

    #[test]
    fn tagged_keys_match_serde_json_escaping_and_name_tokens() {
        for name in ["f-77ab", "quote\"back\\slash", "tab\tnl\n\u{1}\u{1f}é/", ""] {
            let mut ours = String::new();
            push_json_string(&mut ours, name);
            assert_eq!(ours, serde_json::to_string(name).unwrap());
            let key: Key = serde_json::from_str(&format!("[{ours}, 3, -2, \"x\"]")).unwrap();
            assert_eq!(key.tagged(), format!("t[{ours},3,-2,\"x\"]"));
            assert_eq!(key.name(), name);
            assert_eq!(key_name_token(key.tagged()), ours);
            assert_eq!(
                Key::chunk(name, 42),
                serde_json::from_str(&format!("[{ours}, 42]")).unwrap()
            );
        }
        assert_eq!(key_name_token(Key::string("abc").tagged()), "abc");
        assert_eq!(itoa_u64(u64::MAX, &mut [0u8; 20]), u64::MAX.to_string());
    }

    #[test]
    fn refuses_malformed_keys() {
        assert!(serde_json::from_str::<Key>("[]").is_err());
        assert!(serde_json::from_str::<Key>("[1, 2]").is_err());
        assert!(serde_json::from_str::<Key>(r#"["a", [1]]"#).is_err());
        assert!(serde_json::from_str::<Key>("12").is_err());
    }
}
