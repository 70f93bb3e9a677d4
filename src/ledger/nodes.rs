//! Merkle nodes for proofs without a read per node: the nodes of level [`UPPER_LEVEL`] and
//! above (one for every 64 leaves, about one byte of memory an entry) are kept in memory,
//! loaded at open and added by the writer as it appends; a node below that level is read with
//! the whole 64-leaf block it lies in (127 stored hashes, contiguous in `nodes.dat`'s
//! stored-hash order, one `pread` of 4 KB), and the block is kept for the rest of the proof.
//! An inclusion proof used to cost one `pread` a node (20-30); it now costs one or two.
//!
//! The hashes of the ranges along the right edge of the tree of the committed size that are
//! not perfect subtrees (one a level at most) are remembered until the size changes
//! ([`EdgeRanges`]): every inclusion proof against the head needs one or more of them, and each
//! cost the edge's last block read again and up to a dozen hashes. Proofs against older sizes
//! (the public inclusion and consistency endpoints take any size) neither use nor change them.
//!
//! Nothing here is trusted: every proof or root built from these nodes is checked against the
//! signed checkpoint by the ledger before it is used, as before; a node missing from memory is
//! read from the file. A remembered range outlives the check of the proof that computed it, so
//! the ledger forgets them all whenever a check fails ([`super::Ledger::corruption`]): a bad
//! read is never served twice from memory.

use std::cell::RefCell;
use std::sync::{Mutex, RwLock};

use super::files::LogFiles;
use super::LedgerError;
use crate::crypto::Hash;
use crate::tlog::merkle::{self, NodeId, NodeSource};

/// The lowest level kept in memory: a node there covers 64 leaves.
pub(super) const UPPER_LEVEL: u8 = 6;

/// Leaves in a block read at once.
const BLOCK_LEAVES: u64 = 1 << UPPER_LEVEL;

/// Hashes a complete block holds: its leaves and every node inside it, up to its root.
const BLOCK_HASHES: u64 = 2 * BLOCK_LEAVES - 1;

/// The nodes of level [`UPPER_LEVEL`] and above, by level, in index order.
#[derive(Default)]
pub(super) struct UpperNodes(RwLock<Vec<Vec<Hash>>>);

impl UpperNodes {
    /// The upper nodes of the first `size` leaves: level [`UPPER_LEVEL`] read from the file
    /// (`size / 64` reads), the levels above hashed from it.
    pub fn load(files: &LogFiles, size: u64) -> Result<UpperNodes, LedgerError> {
        let mut levels: Vec<Vec<Hash>> = Vec::new();
        let mut level: Vec<Hash> = (0..size >> UPPER_LEVEL)
            .map(|index| {
                files.node(NodeId {
                    level: UPPER_LEVEL,
                    index,
                })
            })
            .collect::<Result<_, _>>()?;
        while !level.is_empty() {
            let above = level
                .chunks_exact(2)
                .map(|pair| merkle::node_hash(&pair[0], &pair[1]))
                .collect();
            levels.push(std::mem::replace(&mut level, above));
        }
        Ok(UpperNodes(RwLock::new(levels)))
    }

    /// Adds nodes the writer has just appended to the file, in the order it stored them. A
    /// node that is not the next of its level (never expected) is left out: it will be read
    /// from the file.
    pub fn add(&self, nodes: &[(NodeId, Hash)]) {
        if nodes.is_empty() {
            return;
        }
        let mut levels = self.0.write().unwrap_or_else(|p| p.into_inner());
        for (id, hash) in nodes {
            let l = (id.level - UPPER_LEVEL) as usize;
            if levels.len() <= l {
                levels.resize_with(l + 1, Vec::new);
            }
            if levels[l].len() as u64 == id.index {
                levels[l].push(*hash);
            }
        }
    }

    fn get(&self, id: NodeId) -> Option<Hash> {
        let levels = self.0.read().unwrap_or_else(|p| p.into_inner());
        levels
            .get((id.level - UPPER_LEVEL) as usize)?
            .get(usize::try_from(id.index).ok()?)
            .copied()
    }
}

/// Hashes of the right edge's ranges that are not perfect subtrees, in the tree of one size:
/// (start, length, hash), with `start + length` that size, at most [`EdgeRanges::MAX`] of them.
/// A proof against a newer head starts them afresh.
#[derive(Default)]
pub(super) struct EdgeRanges(Mutex<(u64, Vec<EdgeRange>)>);

/// A range's first leaf, its length and its hash.
type EdgeRange = (u64, u64, Hash);

impl EdgeRanges {
    /// Ranges kept: a tree has one such range a level at most along its right edge.
    const MAX: usize = 64;

    fn get(&self, size: u64, start: u64, len: u64) -> Option<Hash> {
        let kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if kept.0 != size {
            return None;
        }
        kept.1
            .iter()
            .find(|(s, l, _)| (*s, *l) == (start, len))
            .map(|(_, _, hash)| *hash)
    }

    fn put(&self, size: u64, start: u64, len: u64, hash: &Hash) {
        if start.checked_add(len) != Some(size) {
            return;
        }
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if kept.0 != size {
            *kept = (size, Vec::new());
        }
        if kept.1.len() < Self::MAX && !kept.1.iter().any(|(s, l, _)| (*s, *l) == (start, len)) {
            kept.1.push((start, len, *hash));
        }
    }

    /// Forgets every remembered range (a check against the signed tree failed).
    pub fn forget(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).1.clear();
    }
}

/// The nodes of the tree of the first `size` leaves, for one proof (or root) on one thread.
pub(super) struct ProofNodes<'a> {
    files: &'a LogFiles,
    upper: &'a UpperNodes,
    /// The ranges remembered for the head, when `size` is the committed size.
    edges: Option<&'a EdgeRanges>,
    size: u64,
    /// Stored hashes the tree of `size` leaves has: a block read never goes past them.
    stored: u64,
    /// Blocks read so far: (index of its first stored hash, its bytes).
    blocks: RefCell<Vec<(u64, Vec<u8>)>>,
}

impl<'a> ProofNodes<'a> {
    pub fn new(
        files: &'a LogFiles,
        upper: &'a UpperNodes,
        edges: Option<&'a EdgeRanges>,
        size: u64,
    ) -> ProofNodes<'a> {
        ProofNodes {
            files,
            upper,
            edges,
            size,
            stored: merkle::stored_hash_count(size),
            blocks: RefCell::new(Vec::with_capacity(2)),
        }
    }
}

impl NodeSource for ProofNodes<'_> {
    type Error = LedgerError;
    fn node(&self, id: NodeId) -> Result<Hash, LedgerError> {
        if id.level >= UPPER_LEVEL {
            return match self.upper.get(id) {
                Some(hash) => Ok(hash),
                None => self.files.node(id),
            };
        }
        let at = merkle::stored_hash_index(id.level, id.index);
        let first =
            merkle::stored_hash_index(0, ((id.index << id.level) >> UPPER_LEVEL) << UPPER_LEVEL);
        let mut blocks = self.blocks.borrow_mut();
        let k = match blocks.iter().position(|(start, _)| *start == first) {
            Some(k) => k,
            None => {
                let end = (first + BLOCK_HASHES).min(self.stored.max(at + 1));
                blocks.push((first, self.files.stored_hashes(first, end - first)?));
                blocks.len() - 1
            }
        };
        let bytes = &blocks[k].1;
        let offset = ((at - first) * 32) as usize;
        match bytes.get(offset..offset + 32) {
            Some(hash) => Ok(hash.try_into().expect("32 bytes")),
            None => self.files.node(id),
        }
    }

    fn remembered_range(&self, start: u64, len: u64) -> Option<Hash> {
        self.edges?.get(self.size, start, len)
    }

    fn remember_range(&self, start: u64, len: u64, hash: &Hash) {
        if let Some(edges) = self.edges {
            edges.put(self.size, start, len, hash);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tlog::merkle::Frontier;

    #[test]
    fn proofs_from_memory_and_blocks_are_the_proofs_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let files = LogFiles::open(dir.path()).unwrap();
        let live = UpperNodes::default();
        let mut frontier = Frontier::default();
        // Kept across sizes, as in the ledger: remembered edge ranges of one size never serve
        // another, and the ones of this size serve every proof after the first.
        let edges = EdgeRanges::default();
        for n in 1..=300u64 {
            let (mut bytes, mut upper) = (Vec::new(), Vec::new());
            frontier.push(merkle::leaf_hash(&n.to_be_bytes()), |id, hash| {
                bytes.extend_from_slice(hash);
                if id.level >= UPPER_LEVEL {
                    upper.push((id, *hash));
                }
            });
            files.append(&[], &[], &bytes).unwrap();
            live.add(&upper);
            let loaded = UpperNodes::load(&files, n).unwrap();
            // Kept by the writer, loaded at open, or nothing in memory (every node read).
            for upper in [&live, &loaded, &UpperNodes::default()] {
                let nodes = ProofNodes::new(&files, upper, Some(&edges), n);
                assert_eq!(
                    merkle::root(&nodes, n).unwrap(),
                    merkle::root(&files, n).unwrap()
                );
                for m in [0, n / 2, n - 1, n.saturating_sub(65), n.saturating_sub(64)] {
                    assert_eq!(
                        merkle::inclusion_proof(&nodes, m, n).unwrap(),
                        merkle::inclusion_proof(&files, m, n).unwrap(),
                        "leaf {m} of {n}"
                    );
                }
                for from in [1, n / 3, n - 1] {
                    if from >= 1 && from < n {
                        assert_eq!(
                            merkle::consistency_proof(&nodes, from, n).unwrap(),
                            merkle::consistency_proof(&files, from, n).unwrap(),
                            "{from} to {n}"
                        );
                    }
                }
            }
            // What is remembered is one size's right edge (this size's, whole tree included,
            // unless the tree is perfect and needs none).
            let kept = edges.0.lock().unwrap().clone();
            assert!(kept.1.iter().all(|&(s, l, _)| s + l == kept.0), "{kept:?}");
            if !n.is_power_of_two() {
                assert_eq!(kept.0, n);
                assert!(kept.1.contains(&(0, n, merkle::root(&files, n).unwrap())));
                // A remembered hash is used (a wrong one shows), and forgetting drops it.
                let nodes = ProofNodes::new(&files, &live, Some(&edges), n);
                edges.forget();
                edges.put(n, 0, n, &[7; 32]);
                assert_eq!(merkle::root(&nodes, n).unwrap(), [7; 32]);
                edges.forget();
                assert_eq!(
                    merkle::root(&nodes, n).unwrap(),
                    merkle::root(&files, n).unwrap()
                );
            }
        }
    }
}
