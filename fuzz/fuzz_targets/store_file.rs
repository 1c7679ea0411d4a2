//! Opening a store file made of any bytes: `FileStore::open` gives a store or a typed error,
//! never panics, and leaves a file it refuses exactly as it was.
//!
//! The first input byte chooses how the file is made from the rest (modulo 3):
//! - 0: the rest is the whole file.
//! - 1: one of the valid stores in `seeds/store_file/raw_*`, with bytes written into it.
//!   The next byte picks the store, the two after it the offset (little-endian, modulo the
//!   store's length plus one); in the byte after those, bit 0 overwrites instead of
//!   inserting and bit 1 cuts the file just after the written bytes. The rest is written.
//! - 2: one of the valid stores (picked by the next byte) with the rest as the payload of a
//!   log entry appended after its committed length, framed with a correct checksum and
//!   committed in the next slot, so that the fuzzer reaches the parsing and replay of
//!   entries without having to find checksums.
//!
//! A file that opens must list its records, be left unchanged by opening and closing, open
//! again with the same records, and keep them through a compaction.

#![no_main]

use std::fs;
use std::path::Path;

use api_tokens::{FileStore, StoreError, TokenStore};
use libfuzzer_sys::fuzz_target;
use tempfile::TempDir;

/// Valid stores made by the crate; each seed file is the mode byte 0 and then the store.
const VALID: [&[u8]; 4] = [
    include_bytes!("../seeds/store_file/raw_empty"),
    include_bytes!("../seeds/store_file/raw_prefixed"),
    include_bytes!("../seeds/store_file/raw_log"),
    include_bytes!("../seeds/store_file/raw_compacted"),
];

/// The header sector and the two commit slots, as the README describes them.
const SECTOR: usize = 512;

/// The name of the store file in its directory.
const STORE: &str = "fuzz.store";

fn valid(choice: u8) -> &'static [u8] {
    &VALID[usize::from(choice) % VALID.len()][1..]
}

/// `store` with `bytes` written at an offset chosen by `control`.
fn splice(store: &[u8], control: [u8; 3], bytes: &[u8]) -> Vec<u8> {
    let at = usize::from(u16::from_le_bytes([control[0], control[1]])) % (store.len() + 1);
    let (overwrite, cut) = (control[2] & 1 == 1, control[2] & 2 == 2);
    let mut file = store[..at].to_vec();
    file.extend_from_slice(bytes);
    let rest_from = if overwrite { at + bytes.len() } else { at };
    if !cut && rest_from < store.len() {
        file.extend_from_slice(&store[rest_from..]);
    }
    file
}

fn le_u64(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes[..8].try_into().expect("eight bytes"))
}

/// `store` with one more committed entry holding `payload`.
fn with_entry(store: &[u8], payload: &[u8]) -> Vec<u8> {
    // The latest commit is in the slot with the higher sequence number.
    let slot = |index: usize| &store[SECTOR * (1 + index)..SECTOR * (2 + index)];
    let (seq, len) = (0..2)
        .map(|index| (le_u64(&slot(index)[0..]), le_u64(&slot(index)[8..])))
        .max()
        .expect("two slots");
    let instance = &store[16..24];

    let mut file = store[..len as usize].to_vec();
    let payload_len = u32::try_from(payload.len()).expect("a fuzz input fits in u32");
    let mut crc = crc32fast::Hasher::new();
    crc.update(&payload_len.to_le_bytes());
    crc.update(payload);
    file.extend_from_slice(&payload_len.to_le_bytes());
    file.extend_from_slice(&crc.finalize().to_le_bytes());
    file.extend_from_slice(payload);

    let mut sector = [0; SECTOR];
    sector[0..8].copy_from_slice(&(seq + 1).to_le_bytes());
    sector[8..16].copy_from_slice(&(file.len() as u64).to_le_bytes());
    sector[16..24].copy_from_slice(instance);
    let sector_crc = crc32fast::hash(&sector[..SECTOR - 4]);
    sector[SECTOR - 4..].copy_from_slice(&sector_crc.to_le_bytes());
    let at = SECTOR * (1 + ((seq + 1) % 2) as usize);
    file[at..at + SECTOR].copy_from_slice(&sector);
    file
}

/// Nothing but the store file is left in `dir`: no temporary file of a creation or
/// compaction.
fn assert_alone(dir: &TempDir) {
    let names: Vec<_> = fs::read_dir(dir.path())
        .expect("the directory reads")
        .map(|entry| entry.expect("an entry").file_name())
        .collect();
    assert_eq!(names, [STORE]);
}

/// The records of an open store in their serialised form, in a fixed order.
fn records(store: &FileStore) -> Vec<String> {
    let mut records: Vec<String> = store
        .list(None)
        .expect("an open store lists its records")
        .iter()
        .map(|record| serde_json::to_string(&**record).expect("a record serialises"))
        .collect();
    records.sort();
    records
}

fn reopen(path: &Path) -> FileStore {
    FileStore::open(path).expect("a store that opened opens again")
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let file = match mode % 3 {
        0 => rest.to_vec(),
        1 => match rest {
            [choice, a, b, how, bytes @ ..] => splice(valid(*choice), [*a, *b, *how], bytes),
            _ => return,
        },
        _ => match rest.split_first() {
            Some((choice, payload)) => with_entry(valid(*choice), payload),
            None => return,
        },
    };

    // A directory per input, removed when done, so that runs leave nothing behind.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join(STORE);
    fs::write(&path, &file).expect("the file writes");
    let store = match FileStore::open(&path) {
        Ok(store) => store,
        Err(error) => {
            assert_eq!(fs::read(&path).expect("the file reads"), file);
            assert_alone(&dir);
            assert!(error.to_string().contains(&path.display().to_string()));
            match error {
                StoreError::Corrupt { offset, .. } => assert!(offset <= file.len() as u64),
                StoreError::UnsupportedVersion { .. } => {}
                other => panic!("opening answered {other:?}"),
            }
            return;
        }
    };

    // Opening, listing and closing write nothing.
    let listed = records(&store);
    let prefix = store.prefix().cloned();
    drop(store);
    assert_eq!(fs::read(&path).expect("the file reads"), file);

    let store = reopen(&path);
    assert_eq!(records(&store), listed);
    store.compact().expect("an open store compacts");
    drop(store);
    assert_alone(&dir);

    let store = reopen(&path);
    assert_eq!(records(&store), listed);
    assert_eq!(store.prefix(), prefix.as_ref());
});
