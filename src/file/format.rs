//! The bytes of a store file: a fixed header, two commit slots and a log of entries.
//!
//! ```text
//! offset 0     header sector (512 bytes), written once when the file is made
//! offset 512   commit slot 0 (512 bytes)
//! offset 1024  commit slot 1 (512 bytes)
//! offset 1536  log entries, each: length (u32) | CRC-32 (u32) | payload
//! ```
//!
//! All integers are little-endian. Each sector ends with the CRC-32 of its first 508 bytes.
//! A slot names the file's committed length; bytes past it are an unacknowledged tail.

use std::borrow::Cow;
use std::path::Path;

use crate::error::StoreError;
use crate::format::{MAX_PREFIX_LEN, Prefix};

/// The first eight bytes of every store file. The high first byte and the line feed catch
/// transfers that mangle binary files.
pub(crate) const MAGIC: [u8; 8] = *b"\x89TOKENS\n";

/// The layout this code reads and writes.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// The unit the header is made of. Every sector is written whole, at an aligned offset, so
/// the storage writes it as one piece.
pub(crate) const SECTOR: usize = 512;

/// Where the log starts.
pub(crate) const HEADER_LEN: u64 = 3 * SECTOR as u64;

/// Bytes in front of each entry's payload: its length and its checksum.
pub(crate) const ENTRY_HEAD: usize = 8;

/// The largest payload an entry may have. Writers split bigger commits into several
/// entries; a longer length field can only be damage.
pub(crate) const MAX_PAYLOAD: u32 = 16 << 20;

/// Where the checksum sits in every sector.
const SECTOR_CRC_AT: usize = SECTOR - 4;

/// What a file says about itself in its header sector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    /// Random, drawn anew whenever a file is made (compaction included), so that a process
    /// can tell that the file at a path was replaced.
    pub(crate) instance: u64,
    /// The committed length the file had when it was made; compaction compares growth
    /// against it.
    pub(crate) base_len: u64,
    /// The token prefix the store was created for, if one was given.
    pub(crate) prefix: Option<Prefix>,
}

/// A commit slot: the file's committed length as of one commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Commit {
    /// Counts commits in this file; slot `seq % 2` holds commit `seq`.
    pub(crate) seq: u64,
    /// Bytes of the file that hold committed entries (header included).
    pub(crate) len: u64,
}

/// Why some bytes cannot be read as a store. Turned into a [`StoreError`] once the path is
/// known.
#[derive(Debug)]
pub(crate) enum Damage {
    /// The bytes at `offset` are wrong.
    At {
        offset: u64,
        reason: Cow<'static, str>,
    },
    /// A well-formed header of a later format version.
    NewerVersion(u32),
}

impl Damage {
    pub(crate) fn at(offset: u64, reason: impl Into<Cow<'static, str>>) -> Self {
        Self::At {
            offset,
            reason: reason.into(),
        }
    }

    pub(crate) fn into_error(self, path: &Path) -> StoreError {
        match self {
            Self::At { offset, reason } => StoreError::Corrupt {
                path: path.to_owned(),
                offset,
                reason: reason.into_owned(),
            },
            Self::NewerVersion(version) => StoreError::UnsupportedVersion {
                path: path.to_owned(),
                version,
            },
        }
    }
}

impl Header {
    pub(crate) fn encode(&self) -> [u8; SECTOR] {
        let mut sector = [0; SECTOR];
        sector[0..8].copy_from_slice(&MAGIC);
        sector[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        sector[12..16].copy_from_slice(&(!FORMAT_VERSION).to_le_bytes());
        sector[16..24].copy_from_slice(&self.instance.to_le_bytes());
        sector[24..32].copy_from_slice(&self.base_len.to_le_bytes());
        if let Some(prefix) = &self.prefix {
            let text = prefix.as_str().as_bytes();
            sector[32] = text.len() as u8;
            sector[33..33 + text.len()].copy_from_slice(text);
        }
        seal(&mut sector);
        sector
    }

    /// Reads the header sector from the start of `bytes`, which holds what the file has of
    /// its first sector (all of it, unless the file is shorter).
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, Damage> {
        if bytes.is_empty() {
            return Err(Damage::at(0, "the file is empty, not a token store"));
        }
        let magic_len = bytes.len().min(MAGIC.len());
        if bytes[..magic_len] != MAGIC[..magic_len] {
            return Err(Damage::at(
                0,
                "not a token store (no token store signature)",
            ));
        }
        if bytes.len() < 16 {
            return Err(Damage::at(
                bytes.len() as u64,
                "file ends inside its header",
            ));
        }

        // The version and its complement come before anything else, so that a later
        // layout is recognised before its header is judged by this one's rules.
        let version = le_u32(&bytes[8..12]);
        if le_u32(&bytes[12..16]) != !version {
            return Err(Damage::at(8, "format version field is damaged"));
        }
        if version > FORMAT_VERSION {
            return Err(Damage::NewerVersion(version));
        }
        if version != FORMAT_VERSION {
            return Err(Damage::at(8, format!("unknown format version {version}")));
        }

        if bytes.len() < SECTOR {
            return Err(Damage::at(
                bytes.len() as u64,
                "file ends inside its header",
            ));
        }
        let sector = &bytes[..SECTOR];
        if !is_sealed(sector) {
            return Err(Damage::at(0, "header fails its checksum"));
        }

        let prefix_len = usize::from(sector[32]);
        let prefix = match prefix_len {
            0 => None,
            len if len <= MAX_PREFIX_LEN => {
                let text = std::str::from_utf8(&sector[33..33 + len]).ok();
                let prefix = text.and_then(|text| Prefix::new(text).ok());
                Some(prefix.ok_or_else(|| Damage::at(32, "header holds an invalid prefix"))?)
            }
            _ => return Err(Damage::at(32, "header holds an invalid prefix")),
        };
        let header = Self {
            instance: le_u64(&sector[16..24]),
            base_len: le_u64(&sector[24..32]),
            prefix,
        };
        if header.base_len < HEADER_LEN {
            return Err(Damage::at(24, "header holds an impossible length"));
        }
        Ok(header)
    }
}

/// The bytes of the slot that holds `commit`, in a file whose header has `instance`.
pub(crate) fn encode_slot(instance: u64, commit: Commit) -> [u8; SECTOR] {
    let mut sector = [0; SECTOR];
    sector[0..8].copy_from_slice(&commit.seq.to_le_bytes());
    sector[8..16].copy_from_slice(&commit.len.to_le_bytes());
    sector[16..24].copy_from_slice(&instance.to_le_bytes());
    seal(&mut sector);
    sector
}

/// Where the slot for commit `seq` starts in the file.
pub(crate) fn slot_offset(seq: u64) -> u64 {
    (1 + seq % 2) * SECTOR as u64
}

/// Reads both slots (the file's bytes 512 to 1536) and returns the latest commit.
///
/// Every slot must be intact: a slot is only ever rewritten whole, as one aligned sector,
/// so a slot that fails its checksum was damaged, and guessing around it could drop a
/// commit that was acknowledged.
pub(crate) fn decode_slots(bytes: &[u8], header: &Header) -> Result<Commit, Damage> {
    let mut commits = [Commit { seq: 0, len: 0 }; 2];
    for (index, commit) in commits.iter_mut().enumerate() {
        let offset = (1 + index) as u64 * SECTOR as u64;
        let sector = bytes
            .get(index * SECTOR..(index + 1) * SECTOR)
            .ok_or_else(|| Damage::at(offset, "file ends inside its commit slots"))?;
        if !is_sealed(sector) {
            return Err(Damage::at(offset, "commit slot fails its checksum"));
        }
        if le_u64(&sector[16..24]) != header.instance {
            return Err(Damage::at(offset, "commit slot belongs to another file"));
        }
        *commit = Commit {
            seq: le_u64(&sector[0..8]),
            len: le_u64(&sector[8..16]),
        };
        if commit.seq % 2 != index as u64 || commit.len < HEADER_LEN {
            return Err(Damage::at(offset, "commit slot holds impossible values"));
        }
    }

    let (newer, older) = if commits[0].seq > commits[1].seq {
        (commits[0], commits[1])
    } else {
        (commits[1], commits[0])
    };
    if newer.seq != older.seq + 1 || newer.len < older.len || newer.len < header.base_len {
        return Err(Damage::at(slot_offset(newer.seq), "commit slots disagree"));
    }
    Ok(newer)
}

/// Frames a payload as a log entry.
pub(crate) fn frame(payload: &[u8], out: &mut Vec<u8>) {
    let len = payload.len() as u32;
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len.to_le_bytes());
    crc.update(payload);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(payload);
}

/// Reads an entry's head: the payload length, and the checksum it must match.
pub(crate) fn entry_head(head: &[u8; ENTRY_HEAD]) -> (u32, u32) {
    (le_u32(&head[0..4]), le_u32(&head[4..8]))
}

/// Whether `payload` matches the checksum read from its entry's head.
pub(crate) fn entry_matches(payload: &[u8], expected: u32) -> bool {
    let mut crc = crc32fast::Hasher::new();
    crc.update(&(payload.len() as u32).to_le_bytes());
    crc.update(payload);
    crc.finalize() == expected
}

fn seal(sector: &mut [u8; SECTOR]) {
    let crc = crc32fast::hash(&sector[..SECTOR_CRC_AT]);
    sector[SECTOR_CRC_AT..].copy_from_slice(&crc.to_le_bytes());
}

fn is_sealed(sector: &[u8]) -> bool {
    crc32fast::hash(&sector[..SECTOR_CRC_AT]) == le_u32(&sector[SECTOR_CRC_AT..SECTOR])
}

fn le_u32(bytes: &[u8]) -> u32 {
    let mut word = [0; 4];
    word.copy_from_slice(&bytes[..4]);
    u32::from_le_bytes(word)
}

fn le_u64(bytes: &[u8]) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            instance: 0x0123_4567_89ab_cdef,
            base_len: HEADER_LEN,
            prefix: Some(Prefix::new("acme_live").unwrap()),
        }
    }

    fn slots(first: Commit, second: Commit) -> Vec<u8> {
        let mut bytes = vec![0; 2 * SECTOR];
        for commit in [first, second] {
            let at = (slot_offset(commit.seq) - SECTOR as u64) as usize;
            bytes[at..at + SECTOR].copy_from_slice(&encode_slot(header().instance, commit));
        }
        bytes
    }

    #[test]
    fn header_round_trips() {
        let header = header();
        assert_eq!(Header::decode(&header.encode()).unwrap(), header);
    }

    #[test]
    fn a_later_version_is_recognised_before_the_checksum() {
        let mut sector = header().encode();
        sector[8..12].copy_from_slice(&7u32.to_le_bytes());
        sector[12..16].copy_from_slice(&(!7u32).to_le_bytes());
        assert!(matches!(
            Header::decode(&sector),
            Err(Damage::NewerVersion(7))
        ));
    }

    #[test]
    fn the_later_slot_wins() {
        let bytes = slots(Commit { seq: 4, len: 2000 }, Commit { seq: 5, len: 2100 });
        let commit = decode_slots(&bytes, &header()).unwrap();
        assert_eq!(commit, Commit { seq: 5, len: 2100 });
    }

    #[test]
    fn slots_that_skip_a_commit_are_refused() {
        let bytes = slots(Commit { seq: 2, len: 2000 }, Commit { seq: 5, len: 2100 });
        assert!(decode_slots(&bytes, &header()).is_err());
    }

    #[test]
    fn a_framed_entry_checks_out() {
        let mut out = Vec::new();
        frame(b"[]", &mut out);
        let head: [u8; ENTRY_HEAD] = out[..ENTRY_HEAD].try_into().unwrap();
        let (len, crc) = entry_head(&head);
        assert_eq!(len, 2);
        assert!(entry_matches(&out[ENTRY_HEAD..], crc));
        assert!(!entry_matches(b"{}", crc));
    }
}
