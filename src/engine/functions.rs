//! What the engine's tasks do, by function name. Every function does real work on its inputs, so
//! the bytes are touched and nothing is optimised away: `arange` makes a chunk of `u64`s, `f` (the
//! seed case) looks every chunk element up in its payload used as a table, `make_*` builds an
//! object's bytes, `alias` returns what it names, any other name fills its result from a checksum
//! of its inputs. `fail` and
//! `panic` exist to test fault handling.

use super::ledger::{Account, LimitExceeded, Tracked};
use crate::graph::generate::{SplitMix64, extend_payload_bytes};
use std::hint::black_box;

/// How a function name is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionKind {
    /// `arange`: a chunk of consecutive `u64`s.
    Arange,
    /// `f`: gathers `table[chunk[i] % len]` (falls back to `Generic` without a table).
    Lookup,
    /// `make_*`: a delayed builder, pseudo-random bytes of the result size.
    Make,
    /// `fail`: always fails.
    Fail,
    /// `panic`: always panics.
    Panic,
    /// `alias`: returns the object its one dependency produced; it holds no bytes of its own.
    Alias,
    /// Anything else: bytes derived from a checksum of the inputs.
    Generic,
}

/// Classifies a function name.
pub fn classify(name: &str) -> FunctionKind {
    match name {
        "arange" => FunctionKind::Arange,
        "f" => FunctionKind::Lookup,
        "fail" => FunctionKind::Fail,
        "panic" => FunctionKind::Panic,
        crate::graph::held::ALIAS_FUNCTION => FunctionKind::Alias,
        _ if name.starts_with("make_") => FunctionKind::Make,
        _ => FunctionKind::Generic,
    }
}

/// Why a task did not produce a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskFailure {
    /// The function refused its inputs.
    Failed(String),
    /// The function panicked.
    Panicked(String),
    /// The memory limit refused a buffer.
    Limit(LimitExceeded),
}

impl From<LimitExceeded> for TaskFailure {
    fn from(limit: LimitExceeded) -> Self {
        TaskFailure::Limit(limit)
    }
}

fn word_at(bytes: &[u8], index: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[index * 8..index * 8 + 8]);
    u64::from_le_bytes(word)
}

fn seed_of(node: u32) -> u64 {
    SplitMix64::new(u64::from(node) ^ 0x6772_6170_6870_726f).next_u64()
}

/// Runs one task: `inputs` are its arguments in order (payload copies, dependency results),
/// `output_bytes` the size of the result, charged to `account`.
pub fn run_function(
    kind: FunctionKind,
    node: u32,
    inputs: &[&[u8]],
    output_bytes: usize,
    account: &Account,
) -> Result<Tracked, TaskFailure> {
    match kind {
        FunctionKind::Arange => Ok(arange(node, output_bytes, account)?),
        FunctionKind::Lookup => match table_of(inputs) {
            Some((chunk, table)) => Ok(lookup(chunk, table, output_bytes, account)?),
            None => Ok(generic(node, inputs, output_bytes, account)?),
        },
        FunctionKind::Make => Ok(account.filled(output_bytes, |out| {
            extend_payload_bytes(seed_of(node), output_bytes, out)
        })?),
        FunctionKind::Fail => Err(TaskFailure::Failed(
            "the function 'fail' always fails".into(),
        )),
        FunctionKind::Panic => panic!("the function 'panic' always panics"),
        FunctionKind::Alias => {
            // The result is the named object itself (already held): read it, add nothing.
            black_box(inputs.iter().map(|input| input.len()).sum::<usize>());
            Ok(account.zeroed(0)?)
        }
        FunctionKind::Generic => Ok(generic(node, inputs, output_bytes, account)?),
    }
}

fn arange(node: u32, output_bytes: usize, account: &Account) -> Result<Tracked, LimitExceeded> {
    let start = u64::from(node) * 1000;
    account.filled(output_bytes, |out| {
        let mut value = start;
        while out.len() + 8 <= output_bytes {
            out.extend_from_slice(&value.to_le_bytes());
            value += 1;
        }
    })
}

/// The chunk (first input) and the table (the largest later input of at least 8 bytes).
fn table_of<'a>(inputs: &[&'a [u8]]) -> Option<(&'a [u8], &'a [u8])> {
    let (chunk, rest) = inputs.split_first()?;
    let table = rest.iter().max_by_key(|input| input.len())?;
    (table.len() >= 8).then_some((*chunk, *table))
}

fn lookup(
    chunk: &[u8],
    table: &[u8],
    output_bytes: usize,
    account: &Account,
) -> Result<Tracked, LimitExceeded> {
    let chunk_words = chunk.len() / 8;
    let table_words = table.len() / 8;
    let mut sum = 0u64;
    let result = account.filled(output_bytes, |out| {
        let mut i = 0usize;
        while out.len() + 8 <= output_bytes {
            let element = if chunk_words > 0 {
                word_at(chunk, i % chunk_words)
            } else {
                i as u64
            };
            let value = word_at(table, (element % table_words as u64) as usize);
            sum = sum.wrapping_add(value);
            out.extend_from_slice(&value.to_le_bytes());
            i += 1;
        }
    })?;
    black_box(sum);
    Ok(result)
}

/// A checksum of every input byte, 8 at a time.
fn checksum(inputs: &[&[u8]]) -> u64 {
    let mut sum = 0xcbf2_9ce4_8422_2325u64;
    for input in inputs {
        let mut words = input.chunks_exact(8);
        for word in &mut words {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(word);
            sum = (sum ^ u64::from_le_bytes(bytes)).wrapping_mul(0x100_0000_01b3);
        }
        for &byte in words.remainder() {
            sum = (sum ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3);
        }
    }
    black_box(sum)
}

fn generic(
    node: u32,
    inputs: &[&[u8]],
    output_bytes: usize,
    account: &Account,
) -> Result<Tracked, LimitExceeded> {
    let mut rng = SplitMix64::new(checksum(inputs) ^ seed_of(node));
    account.filled(output_bytes, |out| {
        while out.len() + 8 <= output_bytes {
            out.extend_from_slice(&rng.next_u64().to_le_bytes());
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ledger::Ledger;

    #[test]
    fn lookup_gathers_from_the_table() {
        let ledger = Ledger::new(1, None);
        let account = Account::worker(&ledger, 0);
        let chunk: Vec<u8> = [1u64, 2, 5].iter().flat_map(|v| v.to_le_bytes()).collect();
        let table: Vec<u8> = [10u64, 11, 12, 13]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let result =
            run_function(FunctionKind::Lookup, 0, &[&chunk, &table], 32, &account).unwrap();
        let words: Vec<u64> = (0..4).map(|i| word_at(&result, i)).collect();
        assert_eq!(words, vec![11, 12, 11, 11]);
        assert_eq!(ledger.managed(), 32);
    }

    #[test]
    fn names_are_classified() {
        assert_eq!(classify("arange"), FunctionKind::Arange);
        assert_eq!(classify("make_mapper"), FunctionKind::Make);
        assert_eq!(classify("sum"), FunctionKind::Generic);
        let ledger = Ledger::new(1, None);
        let account = Account::worker(&ledger, 0);
        let result = run_function(FunctionKind::Generic, 3, &[b"abc"], 13, &account).unwrap();
        assert_eq!(result.len(), 13);
        assert!(matches!(
            run_function(FunctionKind::Fail, 0, &[], 8, &account),
            Err(TaskFailure::Failed(_))
        ));
    }
}
