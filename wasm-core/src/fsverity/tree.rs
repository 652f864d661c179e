//! Streaming Merkle-tree construction: data blocks are hashed as they arrive
//! and each level keeps only the one block it is filling, so memory stays at
//! (tree height × block size) whatever the file size.

use super::error::Error;
use super::params::Params;

/// Descriptor layout (`struct fsverity_descriptor`): version, algorithm,
/// lg block size, salt size, 4 reserved bytes, data size, 64-byte root hash,
/// 32-byte salt, 144 reserved bytes.
const DESCRIPTOR_SIZE: usize = 256;
const ROOT_HASH_OFFSET: usize = 16;
/// Trees taller than this would describe files beyond 2^64 bytes.
pub(super) const MAX_HEIGHT: u8 = 8;


/// One tree level: the block being filled with child hashes.
struct Level {
    block: Vec<u8>,
    fill: usize,
    count: u64,
}

/// The levels from `base` upwards; entries reaching `stop` (if any) are
/// collected in `out` instead of being packed into blocks.
struct Levels {
    params: Params,
    base: usize,
    levels: Vec<Level>,
    stop: Option<usize>,
    out: Vec<u8>,
    scratch: [u8; 64],
}

impl Levels {
    fn new(params: Params, base: usize, stop: Option<usize>) -> Self {
        Self { params, base, levels: Vec::new(), stop, out: Vec::new(), scratch: [0; 64] }
    }

    fn level(&mut self, index: usize) -> &mut Level {
        let slot = index - self.base;
        while self.levels.len() <= slot {
            self.levels.push(Level { block: vec![0; self.params.block_size()], fill: 0, count: 0 });
        }
        &mut self.levels[slot]
    }

    /// Appends `entry` at tree level `index`, hashing every block that fills.
    fn push(&mut self, mut index: usize, entry: &[u8]) {
        let ds = self.params.digest_size();
        let bs = self.params.block_size();
        let alg = self.params.algorithm();
        let mut carry = [0u8; 64];
        carry[..ds].copy_from_slice(entry);
        loop {
            if self.stop == Some(index) {
                self.out.extend_from_slice(&carry[..ds]);
                return;
            }
            let level = self.level(index);
            level.block[level.fill..level.fill + ds].copy_from_slice(&carry[..ds]);
            level.fill += ds;
            level.count += 1;
            if level.fill < bs {
                return;
            }
            alg.hash_into(&[&level.block], &mut carry);
            level.fill = 0;
            index += 1;
        }
    }

    /// Zero-pads and hashes the partial block of `index`, if any, into the
    /// level above.
    fn flush(&mut self, index: usize) {
        let ds = self.params.digest_size();
        let alg = self.params.algorithm();
        let slot = index - self.base;
        let Some(level) = self.levels.get_mut(slot) else { return };
        if level.fill == 0 {
            return;
        }
        level.block[level.fill..].fill(0);
        alg.hash_into(&[&level.block], &mut self.scratch);
        level.fill = 0;
        let entry = self.scratch;
        self.push(index + 1, &entry[..ds]);
    }

    fn count(&self, index: usize) -> u64 {
        self.levels.get(index - self.base).map_or(0, |l| l.count)
    }

    /// Finishes the tree from level `from`: the root is the first level left
    /// with a single entry.
    fn root(mut self) -> [u8; 64] {
        let ds = self.params.digest_size();
        let mut index = self.base;
        loop {
            if self.count(index) == 1 {
                let mut root = [0u8; 64];
                root[..ds].copy_from_slice(&self.levels[index - self.base].block[..ds]);
                return root;
            }
            self.flush(index);
            index += 1;
        }
    }
}

/// Accumulates file data into whole blocks and hashes each into level 0.
struct DataBlocks {
    params: Params,
    partial: Vec<u8>,
    size: u64,
    scratch: [u8; 64],
}

impl DataBlocks {
    fn new(params: Params) -> Self {
        Self { params, partial: Vec::with_capacity(params.block_size()), size: 0, scratch: [0; 64] }
    }

    fn update(&mut self, levels: &mut Levels, mut data: &[u8]) {
        let bs = self.params.block_size();
        let ds = self.params.digest_size();
        let alg = self.params.algorithm();
        self.size += data.len() as u64;
        if !self.partial.is_empty() {
            let take = (bs - self.partial.len()).min(data.len());
            self.partial.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.partial.len() < bs {
                return;
            }
            alg.hash_into(&[&self.partial], &mut self.scratch);
            levels.push(0, &self.scratch[..ds]);
            self.partial.clear();
        }
        let mut blocks = data.chunks_exact(bs);
        let mut second = [0u8; 64];
        loop {
            match (blocks.next(), blocks.next()) {
                (Some(a), Some(b)) => {
                    alg.hash_pair(a, b, &mut self.scratch, &mut second);
                    levels.push(0, &self.scratch[..ds]);
                    levels.push(0, &second[..ds]);
                }
                (Some(a), None) => {
                    alg.hash_into(&[a], &mut self.scratch);
                    levels.push(0, &self.scratch[..ds]);
                }
                _ => break,
            }
        }
        self.partial.extend_from_slice(blocks.remainder());
    }

    /// Hashes the zero-padded last block, if the data did not end on a block.
    fn finish(&mut self, levels: &mut Levels) {
        if self.partial.is_empty() {
            return;
        }
        self.partial.resize(self.params.block_size(), 0);
        self.params.algorithm().hash_into(&[&self.partial], &mut self.scratch);
        let entry = self.scratch;
        levels.push(0, &entry[..self.params.digest_size()]);
        self.partial.clear();
    }
}

fn descriptor_digest(params: Params, data_size: u64, root: &[u8; 64]) -> Vec<u8> {
    let mut descriptor = [0u8; DESCRIPTOR_SIZE];
    descriptor[0] = 1;
    descriptor[1] = params.algorithm().kernel_id();
    descriptor[2] = params.lg_block_size();
    descriptor[8..16].copy_from_slice(&data_size.to_le_bytes());
    descriptor[ROOT_HASH_OFFSET..ROOT_HASH_OFFSET + 64].copy_from_slice(root);
    let mut digest = vec![0u8; params.digest_size()];
    params.algorithm().hash_into(&[&descriptor], &mut digest);
    digest
}

/// The fs-verity digest of a whole file, fed in chunks of any size.
pub struct FileHasher {
    data: DataBlocks,
    levels: Levels,
}

impl FileHasher {
    pub fn new(params: Params) -> Self {
        Self { data: DataBlocks::new(params), levels: Levels::new(params, 0, None) }
    }

    pub fn update(&mut self, data: &[u8]) {
        self.data.update(&mut self.levels, data);
    }

    pub fn finish(mut self) -> Vec<u8> {
        let params = self.data.params;
        let size = self.data.size;
        if size == 0 {
            return descriptor_digest(params, 0, &[0; 64]);
        }
        self.data.finish(&mut self.levels);
        let root = self.levels.root();
        descriptor_digest(params, size, &root)
    }
}

/// Hashes one range of a file up to tree level `height`, for hosts that
/// spread a file over threads. The range must start at a multiple of
/// `block_size × fan_out^height`, and every range but the file's last must be
/// a multiple of that long: then its level-`height` entries are exactly the
/// whole tree's entries for those bytes.
pub struct RangeHasher {
    data: DataBlocks,
    levels: Levels,
    height: usize,
}

impl RangeHasher {
    pub fn new(params: Params, height: u8) -> Result<Self, Error> {
        if height > MAX_HEIGHT {
            return Err(Error::Height(height));
        }
        let height = usize::from(height);
        Ok(Self { data: DataBlocks::new(params), levels: Levels::new(params, 0, Some(height)), height })
    }

    pub fn update(&mut self, data: &[u8]) {
        self.data.update(&mut self.levels, data);
    }

    /// Entries completed so far, handed over so they need not pile up here.
    pub fn take_entries(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.levels.out)
    }

    /// The remaining entries, with the range's last partial blocks padded.
    pub fn finish(mut self) -> Vec<u8> {
        self.data.finish(&mut self.levels);
        for index in 0..self.height {
            self.levels.flush(index);
        }
        self.levels.out
    }
}

/// Completes a digest from all level-`height` entries of a file of
/// `data_size` bytes (the concatenated output of its [`RangeHasher`]s).
pub fn digest_from_entries(
    params: Params,
    height: u8,
    data_size: u64,
    entries: &[u8],
) -> Result<Vec<u8>, Error> {
    if height > MAX_HEIGHT {
        return Err(Error::Height(height));
    }
    if data_size == 0 {
        return Err(Error::EmptyFile);
    }
    let ds = params.digest_size();
    if !entries.len().is_multiple_of(ds) {
        return Err(Error::EntrySize { len: entries.len(), digest_size: ds });
    }
    let blocks = data_size.div_ceil(params.block_size() as u64);
    let span = |h: u8| params.fan_out().checked_pow(u32::from(h)).unwrap_or(u64::MAX);
    if height > 0 && blocks <= span(height - 1) {
        return Err(Error::HeightTooTall { height, data_size });
    }
    let expected = blocks.div_ceil(span(height));
    let actual = (entries.len() / ds) as u64;
    if expected != actual {
        return Err(Error::EntryCount { expected, actual });
    }
    let base = usize::from(height);
    let mut levels = Levels::new(params, base, None);
    for entry in entries.chunks_exact(ds) {
        levels.push(base, entry);
    }
    Ok(descriptor_digest(params, data_size, &levels.root()))
}
