//! Layers built here member by member and fed as a splitstream would hold
//! them (headers inline, files over 64 bytes as object references), then
//! applied into trees; the SELinux policy and boot transformation on small
//! hand-written policies. The expected values follow composefs-rs's code;
//! the integration tests compare whole images with cfsctl's. Layers as
//! hostile input: `names` (paths, parents, hard links, whiteouts,
//! duplicates), `limits` (sizes, PAX, truncation), `deep` (nesting).

mod apply;
mod boot;
mod deep;
mod layer;
mod limits;
mod names;

use crate::tree::XattrFilter;
use crate::dumpfile::write_dumpfile;
use crate::fsverity::HashAlgorithm;
use crate::oci::{Error, ImageBuilder};
use crate::tree::Tree;

pub const ALG: HashAlgorithm = HashAlgorithm::Sha256;

/// One splitstream chunk of a layer.
pub enum Chunk {
    Inline(Vec<u8>),
    External(Vec<u8>),
}

/// Builds a layer tar the way a layer splitstream stores it.
#[derive(Default)]
pub struct Layer {
    pub chunks: Vec<Chunk>,
}

fn octal(field: &mut [u8], value: u64) {
    let s = format!("{value:0width$o}", width = field.len() - 1);
    field[..s.len()].copy_from_slice(s.as_bytes());
}

pub fn header(name: &[u8], typeflag: u8, size: u64, link: &[u8], mode: u32) -> [u8; 512] {
    let mut b = [0u8; 512];
    b[..name.len()].copy_from_slice(name);
    octal(&mut b[100..108], u64::from(mode));
    octal(&mut b[108..116], 0);
    octal(&mut b[116..124], 0);
    octal(&mut b[124..136], size);
    octal(&mut b[136..148], 1_700_000_000);
    b[156] = typeflag;
    b[157..157 + link.len()].copy_from_slice(link);
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    octal(&mut b[329..337], 0);
    octal(&mut b[337..345], 0);
    b[148..156].fill(b' ');
    let sum: u64 = b.iter().map(|&x| u64::from(x)).sum();
    b[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    b
}

/// An object ID for content `n`: the bytes only have to be distinct.
pub fn object(n: u8) -> Vec<u8> {
    vec![n; ALG.digest_size()]
}

impl Layer {
    pub fn inline(&mut self, bytes: &[u8]) -> &mut Self {
        match self.chunks.last_mut() {
            Some(Chunk::Inline(run)) => run.extend_from_slice(bytes),
            _ => self.chunks.push(Chunk::Inline(bytes.to_vec())),
        }
        self
    }

    fn padding(&mut self, size: usize) -> &mut Self {
        let pad = (512 - size % 512) % 512;
        self.inline(&vec![0; pad])
    }

    pub fn dir(&mut self, name: &str) -> &mut Self {
        self.inline(&header(name.as_bytes(), b'5', 0, b"", 0o755))
    }

    pub fn file(&mut self, name: &str, data: &[u8]) -> &mut Self {
        self.file_mode(name, data, 0o644)
    }

    pub fn file_mode(&mut self, name: &str, data: &[u8], mode: u32) -> &mut Self {
        self.inline(&header(name.as_bytes(), b'0', data.len() as u64, b"", mode)).inline(data).padding(data.len())
    }

    /// A file over 64 bytes whose content is object `n`.
    pub fn big(&mut self, name: &str, size: usize, n: u8) -> &mut Self {
        self.inline(&header(name.as_bytes(), b'0', size as u64, b"", 0o644));
        self.chunks.push(Chunk::External(object(n)));
        self.padding(size)
    }

    pub fn link(&mut self, name: &str, typeflag: u8, target: &str) -> &mut Self {
        self.inline(&header(name.as_bytes(), typeflag, 0, target.as_bytes(), 0o777))
    }

    pub fn special(&mut self, name: &str, typeflag: u8) -> &mut Self {
        self.inline(&header(name.as_bytes(), typeflag, 0, b"", 0o600))
    }

    /// A PAX header before the next member.
    pub fn pax(&mut self, records: &[(&str, &[u8])]) -> &mut Self {
        let data = crate::tar::tests::pax_data(records);
        self.inline(&header(b"PaxHeader", b'x', data.len() as u64, b"", 0o644)).inline(&data).padding(data.len())
    }

    pub fn end(&mut self) -> &mut Self {
        self.inline(&[0; 1024])
    }
}

/// Every layer applied in order, then the end of image.
pub fn build(layers: &[&Layer]) -> Result<Tree, Error> {
    build_filtered(layers, XattrFilter::AllowlistOnly)
}

/// The same, keeping the xattrs `xattrs` lets through.
pub fn build_filtered(layers: &[&Layer], xattrs: XattrFilter) -> Result<Tree, Error> {
    let mut b = ImageBuilder::new(ALG);
    for layer in layers {
        for chunk in &layer.chunks {
            match chunk {
                Chunk::Inline(data) => b.inline(data)?,
                Chunk::External(id) => b.external(id)?,
            };
        }
        b.end_layer()?;
    }
    b.finish(xattrs)
}

/// The dumpfile's paths, one per line, without the metadata.
pub fn paths(tree: &Tree) -> Vec<String> {
    let dump = String::from_utf8(write_dumpfile(tree)).unwrap();
    dump.lines().map(|l| l.split(' ').next().unwrap().to_string()).collect()
}

pub fn line(tree: &Tree, path: &str) -> String {
    let dump = String::from_utf8(write_dumpfile(tree)).unwrap();
    dump.lines().find(|l| l.split(' ').next() == Some(path)).unwrap_or_else(|| panic!("{path} missing")).to_string()
}
