//! Key interning: every distinct tagged key (see [`super::key::Key::tagged`]) gets the next
//! [`NodeId`]. Dask chunk keys `[name, index]` (nearly every key of a large graph) are found by
//! name and then by index in a dense table, with no hashing of the whole key and no random access
//! into a large hash table; other keys, and indices far beyond the ones seen, go to a hash table.

use super::key::key_name_token;
use super::model::{KeyArena, NodeId};
use hashbrown::HashTable;
use std::collections::HashMap;
use std::hash::BuildHasher;

/// Marks an index with no key yet in a dense table.
const VACANT: NodeId = NodeId::MAX;
/// A dense table grows to at most twice its length plus this, so sparse indices stay hashed.
const DENSE_SLACK: usize = 64;

/// The node ids of one chunk name's keys.
struct ChunkName {
    /// The name's token (see [`key_name_token`]).
    token: Box<str>,
    /// Node id by index, or [`VACANT`].
    ids: Vec<NodeId>,
    /// Keys of this name that went to the hash table instead.
    hashed: u32,
}

impl ChunkName {
    /// The id of this name's key `index` in the dense table, if it has one.
    fn dense(&self, index: usize) -> Option<NodeId> {
        self.ids.get(index).copied().filter(|&id| id != VACANT)
    }

    /// Whether a new key `index` of this name goes to the dense table: it is not far past the
    /// indices seen.
    fn takes_densely(&self, index: usize) -> bool {
        index < self.ids.len() * 2 + DENSE_SLACK
    }
}

/// Interned keys and their ids.
pub struct KeyInterner {
    hasher: foldhash::fast::FixedState,
    /// (hash, id) of keys that are not in a dense table.
    table: HashTable<(u64, NodeId)>,
    chunk_names: HashMap<Box<str>, u32, foldhash::fast::FixedState>,
    chunks: Vec<ChunkName>,
    /// The slots of the two names looked up last ([`NO_SLOT`] when none): a chunk key's name
    /// is nearly always one of them, found with one comparison instead of a hash lookup.
    recent: [u32; 2],
    keys: KeyArena,
}

/// What interning a chunk key by its name's slot and its index would do (see
/// [`KeyInterner::probe`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// The key has this id.
    Known(NodeId),
    /// The key would get the next id, in the name's dense table.
    New,
    /// Only the key's text decides (the hash table).
    NeedsText,
}

/// An empty entry of [`KeyInterner::recent`].
const NO_SLOT: u32 = u32::MAX;

impl Default for KeyInterner {
    fn default() -> Self {
        KeyInterner {
            hasher: foldhash::fast::FixedState::default(),
            table: HashTable::new(),
            chunk_names: HashMap::default(),
            chunks: Vec::new(),
            recent: [NO_SLOT; 2],
            keys: KeyArena::default(),
        }
    }
}

/// `t["name",123]` -> (`"name"`, 123); `None` for any other key shape.
fn split_chunk_key(tagged: &str) -> Option<(&str, usize)> {
    let token = key_name_token(tagged);
    let rest = tagged.get(2 + token.len()..)?;
    let digits = rest.strip_prefix(',')?.strip_suffix(']')?;
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if !tagged.starts_with("t[\"") || !canonical || digits.len() > 9 {
        return None;
    }
    Some((token, digits.parse().ok()?))
}

impl KeyInterner {
    /// The id of a tagged key, and whether it is new.
    pub fn intern(&mut self, tagged: &str) -> (NodeId, bool) {
        match split_chunk_key(tagged) {
            Some((name, index)) => self.intern_chunk(tagged, name, index),
            None => self.intern_hashed(tagged),
        }
    }

    /// [`Self::intern`] for a tagged key already split: `name` and `index` must be what
    /// `split_chunk_key` gives for it.
    pub fn intern_split(&mut self, tagged: &str, name: &str, index: usize) -> (NodeId, bool) {
        debug_assert_eq!(split_chunk_key(tagged), Some((name, index)));
        self.intern_chunk(tagged, name, index)
    }

    /// The slot of a chunk name, numbered as the arena numbers names; `None` when the arena
    /// takes no more names.
    fn chunk_slot(&mut self, name: &str) -> Option<usize> {
        for &slot in &self.recent {
            if slot != NO_SLOT && *self.chunks[slot as usize].token == *name {
                return Some(slot as usize);
            }
        }
        let slot = match self.chunk_names.get(name) {
            Some(&slot) => slot,
            None => {
                self.keys.add_name(name)?;
                self.chunks.push(ChunkName {
                    token: name.into(),
                    ids: Vec::new(),
                    hashed: 0,
                });
                let slot = (self.chunks.len() - 1) as u32;
                self.chunk_names.insert(name.into(), slot);
                slot
            }
        };
        self.recent = [slot, self.recent[0]];
        Some(slot as usize)
    }

    fn intern_chunk(&mut self, tagged: &str, name: &str, index: usize) -> (NodeId, bool) {
        let Some(slot) = self.chunk_slot(name) else {
            return self.intern_hashed(tagged);
        };
        let chunk = &self.chunks[slot];
        if let Some(id) = chunk.dense(index) {
            return (id, false);
        }
        if chunk.hashed > 0
            && let Some(id) = self.find_hashed(tagged)
        {
            return (id, false);
        }
        if chunk.takes_densely(index) {
            (self.store_dense(slot as u32, index), true)
        } else {
            self.chunks[slot].hashed += 1;
            self.intern_hashed(tagged)
        }
    }

    /// Gives the chunk key of name slot `slot` and `index`, not yet interned, the next id, kept
    /// in the name's dense table.
    fn store_dense(&mut self, slot: u32, index: usize) -> NodeId {
        let id = self.keys.len() as NodeId;
        let ids = &mut self.chunks[slot as usize].ids;
        match ids.get_mut(index) {
            Some(vacant) => *vacant = id,
            // Past the end (usually the next index: keys come in order), VACANT in any gap.
            None => {
                ids.resize(index, VACANT);
                ids.push(id);
            }
        }
        self.keys.push_chunk(slot, index as u32);
        id
    }

    fn find_hashed(&self, tagged: &str) -> Option<NodeId> {
        let hash = self.hasher.hash_one(tagged);
        self.table
            .find(hash, |&(known, id)| {
                known == hash && self.keys.text_is(id, tagged)
            })
            .map(|&(_, id)| id)
    }

    fn intern_hashed(&mut self, tagged: &str) -> (NodeId, bool) {
        let hash = self.hasher.hash_one(tagged);
        let keys = &self.keys;
        let entry = self.table.entry(
            hash,
            |&(known, id)| known == hash && keys.text_is(id, tagged),
            |&(known, _)| known,
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(found) => (found.get().1, false),
            hashbrown::hash_table::Entry::Vacant(vacant) => {
                let id = self.keys.len() as NodeId;
                vacant.insert((hash, id));
                self.keys.push(tagged);
                (id, true)
            }
        }
    }

    /// The slot of a chunk name already interned (see [`Self::probe`]).
    pub fn chunk_slot_of(&self, name: &str) -> Option<u32> {
        self.chunk_names.get(name).copied()
    }

    /// The id of a tagged key already interned, without interning it.
    pub fn find(&self, tagged: &str) -> Option<NodeId> {
        if let Some((name, index)) = split_chunk_key(tagged)
            && let Some(&slot) = self.chunk_names.get(name)
        {
            let chunk = &self.chunks[slot as usize];
            if let Some(id) = chunk.dense(index) {
                return Some(id);
            }
            if chunk.hashed == 0 {
                return None;
            }
        }
        self.find_hashed(tagged)
    }

    /// What [`Self::intern`] would do with the chunk key of name slot `slot` (see
    /// [`Self::chunk_slot_of`]) and `index`, when it need not see the key's text.
    pub fn probe(&self, slot: u32, index: usize) -> Probe {
        let chunk = &self.chunks[slot as usize];
        match chunk.dense(index) {
            Some(id) => Probe::Known(id),
            // Keys of this name went to the hash table, which is looked up by text.
            None if chunk.hashed > 0 => Probe::NeedsText,
            None if chunk.takes_densely(index) => Probe::New,
            None => Probe::NeedsText,
        }
    }

    /// [`Self::intern`] of a chunk key that [`Self::probe`] found known or new (not
    /// [`Probe::NeedsText`]): its id, and whether it is new.
    pub fn intern_probed(&mut self, slot: u32, index: usize) -> (NodeId, bool) {
        match self.chunks[slot as usize].dense(index) {
            Some(known) => (known, false),
            None => (self.store_dense(slot, index), true),
        }
    }

    /// The tagged key with this id.
    pub fn get(&self, id: NodeId) -> std::borrow::Cow<'_, str> {
        self.keys.get(id)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key was interned.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys, in id order, without the lookup tables.
    pub fn into_keys(self) -> KeyArena {
        let mut keys = self.keys;
        keys.shrink_to_fit();
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_keys_are_split_only_when_canonical() {
        assert_eq!(split_chunk_key(r#"t["f-1",12]"#), Some((r#""f-1""#, 12)));
        assert_eq!(split_chunk_key(r#"t["a,\"b",0]"#), Some((r#""a,\"b""#, 0)));
        for other in [
            r#"t["f",1,2]"#,
            r#"t["f","x"]"#,
            r#"t["f"]"#,
            "sf-1",
            r#"t["f",01]"#,
        ] {
            assert_eq!(split_chunk_key(other), None, "{other}");
        }
    }

    #[test]
    fn dense_sparse_and_other_keys_each_get_one_id() {
        let mut keys = KeyInterner::default();
        let tagged = |i: usize| format!(r#"t["f",{i}]"#);
        let far = tagged(10_000_000);
        assert_eq!(keys.intern(&tagged(3)), (0, true));
        assert_eq!(keys.intern(&far), (1, true));
        assert_eq!(keys.intern("sx"), (2, true));
        for i in 0..200 {
            keys.intern(&tagged(i));
        }
        assert_eq!(keys.intern(&tagged(3)), (0, false));
        assert_eq!(keys.intern(&far), (1, false));
        assert_eq!(keys.intern("sx"), (2, false));
        assert_eq!(keys.len(), 202);
        assert_eq!(keys.get(1), far);
    }

    #[test]
    fn chunk_keys_are_kept_as_name_and_index_and_read_back_whole() {
        let mut keys = KeyInterner::default();
        let chunk = r#"t["a,\"b-1",12]"#;
        let (id, _) = keys.intern(chunk);
        let (other, _) = keys.intern(r#"t["f",01]"#);
        let (string, _) = keys.intern("sx-1");
        assert_eq!(keys.get(id), chunk);
        assert!(
            matches!(keys.get(id), std::borrow::Cow::Owned(_)),
            "kept as name and index"
        );
        assert_eq!(keys.get(other), r#"t["f",01]"#);
        assert_eq!(keys.get(string), "sx-1");
        let arena = keys.into_keys();
        assert_eq!(arena.name_token(id), r#""a,\"b-1""#);
        assert_eq!(arena.name_token(other), r#""f""#);
        assert_eq!(arena.name_token(string), "x-1");
        assert_eq!(arena.get(id), chunk);
        // What a graph holds per node and per argument.
        assert_eq!(std::mem::size_of::<crate::graph::model::Node>(), 40);
        assert_eq!(std::mem::size_of::<crate::graph::Arg>(), 16);
    }
}
