//! A store file written from the README's description of the format alone, without the
//! crate's own writer. Shared by the format tests and the benchmarks, which need large
//! stores faster than one synced commit per token would make them.

// The tests read files with all of this; the benchmarks only write them.
#![allow(dead_code)]

use std::fs;
use std::io;
use std::path::Path;

use api_tokens::TokenRecord;

/// The first eight bytes of a store file.
pub const MAGIC: [u8; 8] = *b"\x89TOKENS\n";
/// The size of the header sector and of each commit slot.
pub const SECTOR: usize = 512;
/// Where the log starts.
pub const LOG_START: usize = 3 * SECTOR;

/// Writes `records` as a store created for `prefix`, one entry per 256 records.
pub fn write_store(path: &Path, prefix: &str, records: &[&TokenRecord]) -> io::Result<()> {
    let mut log = Vec::new();
    for chunk in records.chunks(256) {
        let ops: Vec<serde_json::Value> = chunk
            .iter()
            .map(|record| serde_json::json!({ "insert": record }))
            .collect();
        let payload = serde_json::to_vec(&ops)?;
        log.extend_from_slice(&entry(&payload));
    }
    let end = (LOG_START + log.len()) as u64;
    let instance: u64 = 0x5eed_5eed_5eed_5eed;

    let mut header = [0u8; SECTOR];
    header[0..8].copy_from_slice(&MAGIC);
    header[8..12].copy_from_slice(&1u32.to_le_bytes());
    header[12..16].copy_from_slice(&(!1u32).to_le_bytes());
    header[16..24].copy_from_slice(&instance.to_le_bytes());
    header[24..32].copy_from_slice(&end.to_le_bytes());
    header[32] = prefix.len() as u8;
    header[33..33 + prefix.len()].copy_from_slice(prefix.as_bytes());
    seal(&mut header);

    let mut file = Vec::with_capacity(end as usize);
    file.extend_from_slice(&header);
    file.extend_from_slice(&slot(0, LOG_START as u64, instance));
    file.extend_from_slice(&slot(1, end, instance));
    file.extend_from_slice(&log);
    fs::write(path, file)
}

/// One log entry: payload length, CRC-32 of the length's bytes and the payload, payload.
pub fn entry(payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u32).to_le_bytes();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len);
    crc.update(payload);
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&len);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// A commit slot: sequence number, committed length, the file's instance number.
pub fn slot(seq: u64, committed: u64, instance: u64) -> [u8; SECTOR] {
    let mut sector = [0u8; SECTOR];
    sector[0..8].copy_from_slice(&seq.to_le_bytes());
    sector[8..16].copy_from_slice(&committed.to_le_bytes());
    sector[16..24].copy_from_slice(&instance.to_le_bytes());
    seal(&mut sector);
    sector
}

/// Ends a sector with the CRC-32 of its first 508 bytes.
pub fn seal(sector: &mut [u8; SECTOR]) {
    let crc = crc32fast::hash(&sector[..SECTOR - 4]);
    sector[SECTOR - 4..].copy_from_slice(&crc.to_le_bytes());
}

/// Whether a sector ends with the CRC-32 of its first 508 bytes.
pub fn is_sealed(sector: &[u8]) -> bool {
    crc32fast::hash(&sector[..SECTOR - 4]).to_le_bytes() == sector[SECTOR - 4..SECTOR]
}

/// Reads a little-endian `u32` or `u64` field.
pub fn le(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word[..bytes.len()].copy_from_slice(bytes);
    u64::from_le_bytes(word)
}
