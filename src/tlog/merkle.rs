//! RFC 6962 / RFC 9162 Merkle tree math: pure functions, no storage and no IO.
//!
//! Storage enters through one tiny interface, [`NodeSource`]: "give me the hash of the perfect
//! subtree at (level, index)". A node at level `l` and index `i` covers leaves
//! `[i * 2^l, (i + 1) * 2^l)`; level 0 holds leaf hashes. The ledger stores exactly these nodes
//! as it appends (see [`Frontier`]), so a root, an inclusion proof or a consistency proof costs
//! O(log n) node reads, never a rebuild.

use std::fmt;

use crate::crypto::{sha256_parts, Hash};

/// SHA-256 of the empty string: the root of the empty tree.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    sha256_parts(&[&[0x00], data])
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256_parts(&[&[0x01], left, right])
}

/// The perfect subtree at `level` covering leaves `[index << level, (index + 1) << level)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

/// Where perfect-subtree hashes come from.
pub trait NodeSource {
    type Error;
    /// The hash of a perfect subtree that lies entirely inside the stored tree.
    fn node(&self, id: NodeId) -> Result<Hash, Self::Error>;
    /// The hash of leaves `[start, start + len)`, a range that is not a perfect subtree, if the
    /// source remembers it from an earlier proof (such ranges lie along the tree's right edge,
    /// and every proof against the same size needs some of them).
    fn remembered_range(&self, _start: u64, _len: u64) -> Option<Hash> {
        None
    }
    /// Offers the source the hash of such a range, computed from its nodes.
    fn remember_range(&self, _start: u64, _len: u64, _hash: &Hash) {}
}

/// Why a proof or a request for one is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProofError {
    IndexOutOfRange { index: u64, size: u64 },
    SizeOutOfRange { from: u64, to: u64 },
    FromZero,
    WrongLength,
    RootMismatch,
}

impl fmt::Display for ProofError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProofError::IndexOutOfRange { index, size } => {
                write!(f, "index {index} is not below tree size {size}")
            }
            ProofError::SizeOutOfRange { from, to } => {
                write!(f, "size {from} is larger than size {to}")
            }
            ProofError::FromZero => write!(f, "a consistency proof from size 0 is meaningless"),
            ProofError::WrongLength => write!(f, "proof has the wrong number of hashes"),
            ProofError::RootMismatch => write!(f, "proof does not lead to the expected root"),
        }
    }
}

impl std::error::Error for ProofError {}

/// Largest power of two strictly less than `n` (n >= 2).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// Hash of the leaves `[start, start + len)`, a range that starts at a multiple of the largest
/// power of two not above `len` (every range RFC 6962's recursion visits has that shape). It is
/// the right fold of the perfect subtrees of `len`'s binary decomposition.
fn range_hash<S: NodeSource>(src: &S, start: u64, len: u64) -> Result<Hash, S::Error> {
    if len == 0 {
        return Ok(EMPTY_ROOT);
    }
    // A perfect subtree (most ranges a proof visits) is one stored node.
    if len.is_power_of_two() {
        return src.node(NodeId {
            level: len.trailing_zeros() as u8,
            index: start >> len.trailing_zeros(),
        });
    }
    if let Some(hash) = src.remembered_range(start, len) {
        return Ok(hash);
    }
    // At most 64 parts, one a set bit of `len`, largest first; kept on the stack (a proof
    // calls this once a level).
    let mut parts = [[0u8; 32]; 64];
    let mut count = 0;
    let mut at = start;
    for level in (0..64u8).rev() {
        let width = 1u64 << level;
        if len & width != 0 {
            parts[count] = src.node(NodeId {
                level,
                index: at >> level,
            })?;
            count += 1;
            at += width;
        }
    }
    let mut acc = parts[count - 1];
    for left in parts[..count - 1].iter().rev() {
        acc = node_hash(left, &acc);
    }
    src.remember_range(start, len, &acc);
    Ok(acc)
}

/// The root of the tree of the first `size` leaves.
pub fn root<S: NodeSource>(src: &S, size: u64) -> Result<Hash, S::Error> {
    range_hash(src, 0, size)
}

/// RFC 9162 inclusion proof of leaf `index` in the tree of `size`, leaf to root.
/// The caller checks `index < size`.
pub fn inclusion_proof<S: NodeSource>(
    src: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, S::Error> {
    debug_assert!(index < size);
    let mut proof = Vec::new();
    path(src, index, 0, size, &mut proof)?;
    Ok(proof)
}

fn path<S: NodeSource>(
    src: &S,
    m: u64,
    start: u64,
    n: u64,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    if n <= 1 {
        return Ok(());
    }
    let k = split_point(n);
    if m < k {
        path(src, m, start, k, out)?;
        out.push(range_hash(src, start + k, n - k)?);
    } else {
        path(src, m - k, start + k, n - k, out)?;
        out.push(range_hash(src, start, k)?);
    }
    Ok(())
}

/// RFC 9162 consistency proof between the trees of sizes `from` and `to`.
/// The caller checks `0 < from <= to`; `from == to` gives the empty proof.
pub fn consistency_proof<S: NodeSource>(
    src: &S,
    from: u64,
    to: u64,
) -> Result<Vec<Hash>, S::Error> {
    debug_assert!(0 < from && from <= to);
    let mut proof = Vec::new();
    if from < to {
        subproof(src, from, 0, to, true, &mut proof)?;
    }
    Ok(proof)
}

fn subproof<S: NodeSource>(
    src: &S,
    m: u64,
    start: u64,
    n: u64,
    complete: bool,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    if m == n {
        if !complete {
            out.push(range_hash(src, start, n)?);
        }
        return Ok(());
    }
    let k = split_point(n);
    if m <= k {
        subproof(src, m, start, k, complete, out)?;
        out.push(range_hash(src, start + k, n - k)?);
    } else {
        subproof(src, m - k, start + k, n - k, false, out)?;
        out.push(range_hash(src, start, k)?);
    }
    Ok(())
}

/// RFC 9162 section 2.1.3.2: checks that `leaf` is at `index` in the tree of `size` with `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::WrongLength);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength);
    }
    if &r != root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// RFC 9162 section 2.1.4.2: checks that the tree of size `to` with `root_to` extends the tree
/// of size `from` with `root_from`. Edge cases follow transparency-dev/merkle: a proof from size 0
/// is an error (even to size 0); equal sizes need an empty proof and equal roots.
pub fn verify_consistency(
    from: u64,
    to: u64,
    proof: &[Hash],
    root_from: &Hash,
    root_to: &Hash,
) -> Result<(), ProofError> {
    if to < from {
        return Err(ProofError::SizeOutOfRange { from, to });
    }
    if from == 0 {
        return Err(ProofError::FromZero);
    }
    if from == to {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        if root_from != root_to {
            return Err(ProofError::RootMismatch);
        }
        return Ok(());
    }
    if proof.is_empty() {
        return Err(ProofError::WrongLength);
    }
    let mut path: Vec<&Hash> = Vec::with_capacity(proof.len() + 1);
    if from.is_power_of_two() {
        path.push(root_from);
    }
    path.extend(proof.iter());
    let (mut fn_, mut sn) = (from - 1, to - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*path[0], *path[0]);
    for c in &path[1..] {
        if sn == 0 {
            return Err(ProofError::WrongLength);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength);
    }
    if &fr != root_from || &sr != root_to {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Position of node (`level`, `index`) in the append-only "stored hash" order: each leaf hash is
/// followed by the hashes of the subtrees it completes, as [`Frontier::push`] reports them (the
/// layout of Go's sumdb/tlog). A file of 32-byte hashes in this order never changes once written.
pub fn stored_hash_index(level: u8, index: u64) -> u64 {
    let mut n = index;
    for _ in 0..level {
        n = 2 * n + 1;
    }
    let mut i = 0;
    while n > 0 {
        i += n;
        n >>= 1;
    }
    i + level as u64
}

/// How many hashes the stored-hash order holds for a tree of `size` leaves.
pub fn stored_hash_count(size: u64) -> u64 {
    if size == 0 {
        return 0;
    }
    let mut count = stored_hash_index(0, size - 1) + 1;
    let mut i = size - 1;
    while i & 1 != 0 {
        count += 1;
        i >>= 1;
    }
    count
}

/// The right edge of a growing tree: the roots of its perfect subtrees, largest first.
/// Appending a leaf reports every node that becomes complete, so a store can persist them.
#[derive(Clone, Debug, Default)]
pub struct Frontier {
    size: u64,
    /// (level, hash) of each perfect subtree of `size`'s binary decomposition, largest first.
    peaks: Vec<(u8, Hash)>,
}

impl Frontier {
    /// The frontier of an existing tree of `size` leaves, read from its stored nodes.
    pub fn load<S: NodeSource>(src: &S, size: u64) -> Result<Frontier, S::Error> {
        let mut peaks = Vec::new();
        let mut at = 0u64;
        for level in (0..64u8).rev() {
            if size & (1 << level) != 0 {
                let hash = src.node(NodeId {
                    level,
                    index: at >> level,
                })?;
                peaks.push((level, hash));
                at += 1 << level;
            }
        }
        Ok(Frontier { size, peaks })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash; calls `store` for the leaf and every node it completes.
    pub fn push(&mut self, leaf: Hash, mut store: impl FnMut(NodeId, &Hash)) {
        let index = self.size;
        store(NodeId { level: 0, index }, &leaf);
        let mut current = (0u8, leaf);
        while let Some(&(level, left)) = self.peaks.last() {
            if level != current.0 {
                break;
            }
            self.peaks.pop();
            let parent = node_hash(&left, &current.1);
            let level = level + 1;
            store(
                NodeId {
                    level,
                    index: index >> level,
                },
                &parent,
            );
            current = (level, parent);
        }
        self.peaks.push(current);
        self.size += 1;
    }

    /// The root of the current tree.
    pub fn root(&self) -> Hash {
        let mut iter = self.peaks.iter().rev();
        let Some(&(_, mut acc)) = iter.next() else {
            return EMPTY_ROOT;
        };
        for (_, left) in iter {
            acc = node_hash(left, &acc);
        }
        acc
    }
}

/// An in-memory tree over given leaves, for tests, vectors and verifiers that rebuild a small
/// tree themselves.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    /// levels[l][i] is the node at (l, i).
    levels: Vec<Vec<Hash>>,
    frontier: Frontier,
}

impl MemoryTree {
    /// Appends the leaf with data `data`.
    pub fn push_data(&mut self, data: &[u8]) {
        self.push_leaf_hash(leaf_hash(data));
    }

    /// Appends a leaf by its leaf hash.
    pub fn push_leaf_hash(&mut self, leaf: Hash) {
        let levels = &mut self.levels;
        self.frontier.push(leaf, |id, hash| {
            let l = id.level as usize;
            if levels.len() <= l {
                levels.resize_with(l + 1, Vec::new);
            }
            debug_assert_eq!(levels[l].len() as u64, id.index);
            levels[l].push(*hash);
        });
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }
}

impl NodeSource for MemoryTree {
    type Error = std::convert::Infallible;
    fn node(&self, id: NodeId) -> Result<Hash, Self::Error> {
        Ok(self.levels[id.level as usize][id.index as usize])
    }
}

/// The root of `leaves` computed by RFC 6962's recursive definition, for cross-checks in tests.
#[cfg(test)]
fn reference_root(leaves: &[&[u8]]) -> Hash {
    match leaves.len() {
        0 => crate::crypto::sha256(b""),
        1 => leaf_hash(leaves[0]),
        n => {
            let k = split_point(n as u64) as usize;
            node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{from_hex, hex, sha256};

    const LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];

    fn tree(n: usize) -> MemoryTree {
        let mut t = MemoryTree::default();
        for leaf in &LEAVES[..n] {
            t.push_data(&from_hex(leaf).unwrap());
        }
        t
    }

    fn hashes(list: &[&str]) -> Vec<Hash> {
        list.iter()
            .map(|h| from_hex(h).unwrap().try_into().unwrap())
            .collect()
    }

    #[test]
    fn roots_match_reference_vectors() {
        let want = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        assert_eq!(tree(0).root(), EMPTY_ROOT);
        assert_eq!(hex(&EMPTY_ROOT), hex(&sha256(b"")));
        let full = tree(8);
        for (i, want) in want.iter().enumerate() {
            let size = i as u64 + 1;
            assert_eq!(
                hex(&tree(i + 1).root()),
                *want,
                "frontier root of size {size}"
            );
            assert_eq!(
                hex(&root(&full, size).unwrap()),
                *want,
                "stored root of {size}"
            );
        }
    }

    fn check_inclusion(index: u64, size: u64, want: &[&str]) {
        let t = tree(8);
        let proof = inclusion_proof(&t, index, size).unwrap();
        assert_eq!(proof, hashes(want), "inclusion of {index} in {size}");
        let leaf = t.node(NodeId { level: 0, index }).unwrap();
        verify_inclusion(&leaf, index, size, &proof, &root(&t, size).unwrap()).unwrap();
    }

    fn check_consistency(from: u64, to: u64, want: &[&str]) {
        let t = tree(8);
        let proof = consistency_proof(&t, from, to).unwrap();
        assert_eq!(proof, hashes(want), "consistency {from} -> {to}");
        let (r1, r2) = (root(&t, from).unwrap(), root(&t, to).unwrap());
        verify_consistency(from, to, &proof, &r1, &r2).unwrap();
    }

    #[test]
    fn proofs_match_reference_vectors() {
        check_inclusion(
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        );
        check_inclusion(
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        );
        check_consistency(
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        );
        check_consistency(
            4,
            7,
            &["837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e"],
        );
        check_consistency(
            3,
            7,
            &[
                "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
                "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                "837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e",
            ],
        );
        check_consistency(5, 5, &[]);
    }

    #[test]
    fn stored_hash_order_matches_what_the_frontier_emits() {
        let mut frontier = Frontier::default();
        let mut position = 0u64;
        for i in 0..300u64 {
            frontier.push(leaf_hash(&i.to_be_bytes()), |id, _| {
                assert_eq!(stored_hash_index(id.level, id.index), position, "{id:?}");
                position += 1;
            });
            assert_eq!(stored_hash_count(i + 1), position);
        }
        assert_eq!(stored_hash_count(0), 0);
    }

    #[test]
    fn stored_roots_agree_with_the_recursive_definition() {
        let data: Vec<Vec<u8>> = (0u32..70).map(|i| i.to_be_bytes().to_vec()).collect();
        let mut t = MemoryTree::default();
        for (i, d) in data.iter().enumerate() {
            t.push_data(d);
            let refs: Vec<&[u8]> = data[..=i].iter().map(|d| d.as_slice()).collect();
            assert_eq!(t.root(), reference_root(&refs));
            let loaded = Frontier::load(&t, t.size()).unwrap();
            assert_eq!(loaded.root(), t.root());
        }
    }
}
