//! `FileStore` through the public API: durability across reopening, sharing one file
//! between several open stores, last-use batching, compaction and locking.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use api_tokens::{
    FileStore, HashingKey, Lifetime, ManualClock, NewToken, Prefix, StoreError, TokenManager,
    TokenStore, TokenUpdate, VerifyError,
};
use tempfile::TempDir;
use time::macros::datetime;

const PREFIX: &str = "filetest";

fn key() -> HashingKey {
    HashingKey::new(&[9; 32]).expect("32 bytes make a key")
}

fn manager(store: FileStore) -> TokenManager<FileStore> {
    TokenManager::builder(store, key(), PREFIX)
        .last_used_resolution(time::Duration::ZERO)
        .build()
        .expect("the configuration is valid")
}

/// A store at `path` that checks the file for changes every `interval`.
fn refreshing_every(path: &Path, interval: Duration) -> FileStore {
    FileStore::options()
        .refresh_interval(interval)
        .open(path)
        .unwrap()
}

fn store_path() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("tokens.store");
    (dir, path)
}

fn create(manager: &TokenManager<FileStore>, name: &str) -> (String, api_tokens::TokenId) {
    let created = manager
        .create(NewToken::new(name, Lifetime::Never))
        .expect("creating a token succeeds");
    (
        created.token().expose_secret().to_owned(),
        created.info().id,
    )
}

#[test]
fn tokens_survive_reopening() {
    let (_dir, path) = store_path();
    let first = manager(FileStore::open(&path).unwrap());
    let (kept, kept_id) = create(&first, "kept");
    let (gone, gone_id) = create(&first, "gone");
    first.delete(&gone_id).unwrap();
    first
        .update(
            &kept_id,
            TokenUpdate::new().name("kept, renamed").scopes(["a:b"]),
        )
        .unwrap();
    drop(first);

    let again = manager(FileStore::open(&path).unwrap());
    let verified = again.verify(&kept).unwrap();
    assert_eq!(verified.name(), "kept, renamed");
    assert_eq!(verified.scopes(), ["a:b"]);
    assert!(matches!(again.verify(&gone), Err(VerifyError::Invalid)));
    assert_eq!(again.list(None).unwrap().len(), 1);
}

#[test]
fn a_new_file_is_private_to_its_owner_and_records_the_prefix() {
    let (_dir, path) = store_path();
    let store = FileStore::options()
        .prefix(Prefix::new(PREFIX).unwrap())
        .open(&path)
        .unwrap();
    assert_eq!(store.prefix().map(Prefix::as_str), Some(PREFIX));
    drop(store);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let reopened = FileStore::open(&path).unwrap();
    assert_eq!(reopened.prefix().map(Prefix::as_str), Some(PREFIX));
    drop(reopened);

    let other = FileStore::options()
        .prefix(Prefix::new("other").unwrap())
        .open(&path);
    match other {
        Err(StoreError::PrefixMismatch {
            stored, requested, ..
        }) => {
            assert_eq!((stored.as_str(), requested.as_str()), (PREFIX, "other"));
        }
        other => panic!("expected a prefix mismatch, got {other:?}"),
    }
}

#[test]
fn a_missing_file_is_an_error_when_creation_is_off() {
    let (_dir, path) = store_path();
    let missing = FileStore::options().create(false).open(&path);
    assert!(matches!(missing, Err(StoreError::Io { .. })));
    assert!(!path.exists());

    let no_dir = path.join("below").join("tokens.store");
    let error = FileStore::open(&no_dir).unwrap_err();
    assert!(error.to_string().contains("tokens.store"), "{error}");
}

#[test]
fn duplicates_and_missing_ids_are_reported_and_change_nothing() {
    let (_dir, path) = store_path();
    let manager = manager(FileStore::open(&path).unwrap());
    let (_, id) = create(&manager, "one");
    let record = manager.store().get(&id).unwrap().unwrap();

    let duplicate = manager.store().insert((*record).clone());
    assert!(matches!(duplicate, Err(StoreError::Duplicate(d)) if d == id));
    manager.store().remove(&id).unwrap();
    let before = fs::read(&path).unwrap();
    assert!(matches!(
        manager.store().remove(&id),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        manager.store().update(&id, &mut |_| {}),
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(fs::read(&path).unwrap(), before);
}

#[test]
fn a_token_created_elsewhere_verifies_at_once() {
    let (_dir, path) = store_path();
    let service = manager(refreshing_every(&path, Duration::from_secs(3600)));
    let admin = manager(FileStore::open(&path).unwrap());

    // The service looks once, so that its last check is recent.
    assert!(service.list(None).unwrap().is_empty());
    let (token, _) = create(&admin, "made by the admin");
    assert_eq!(service.verify(&token).unwrap().name(), "made by the admin");
}

#[test]
fn a_deletion_elsewhere_is_seen_after_the_refresh_interval() {
    let (_dir, path) = store_path();
    let interval = Duration::from_millis(200);
    let service = manager(refreshing_every(&path, interval));
    let admin = manager(FileStore::open(&path).unwrap());
    let (token, id) = create(&admin, "soon deleted");
    service.verify(&token).unwrap();

    admin.delete(&id).unwrap();
    let deleted_at = Instant::now();
    loop {
        match service.verify(&token) {
            Ok(_) => assert!(
                deleted_at.elapsed() < interval,
                "still verifying {:?} after the deletion",
                deleted_at.elapsed()
            ),
            Err(VerifyError::Invalid) => break,
            Err(other) => panic!("unexpected {other:?}"),
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn lookups_serve_memory_until_the_interval_has_passed() {
    let (_dir, path) = store_path();
    let service = manager(refreshing_every(&path, Duration::from_secs(3600)));
    let admin = manager(FileStore::open(&path).unwrap());
    let (token, id) = create(&admin, "cached");
    service.verify(&token).unwrap();

    admin.delete(&id).unwrap();
    // Within the interval, verification does not look at the file at all.
    assert!(service.verify(&token).is_ok());
    service.store().refresh().unwrap();
    assert!(matches!(service.verify(&token), Err(VerifyError::Invalid)));
}

#[test]
fn writes_from_two_stores_never_erase_each_other() {
    let (_dir, path) = store_path();
    let a = manager(FileStore::open(&path).unwrap());
    let b = manager(FileStore::open(&path).unwrap());
    let mut ids = Vec::new();
    for round in 0..20 {
        ids.push(create(&a, &format!("a{round}")).1);
        ids.push(create(&b, &format!("b{round}")).1);
    }
    a.delete(&ids[1]).unwrap();
    b.delete(&ids[2]).unwrap();

    for manager in [&a, &b] {
        let listed: Vec<_> = manager.list(None).unwrap().iter().map(|t| t.id).collect();
        assert_eq!(listed.len(), 38);
        assert!(!listed.contains(&ids[1]) && !listed.contains(&ids[2]));
    }
    assert_eq!(FileStore::open(&path).unwrap().len(), 38);
}

#[test]
fn last_use_times_are_written_when_the_store_is_dropped() {
    let (_dir, path) = store_path();
    let service = manager(FileStore::open(&path).unwrap());
    let (token, id) = create(&service, "used");
    service.verify(&token).unwrap();
    let before = fs::read(&path).unwrap();
    assert!(service.get(&id).unwrap().last_used_at.is_some());
    drop(service);

    assert_ne!(fs::read(&path).unwrap(), before, "dropping wrote the time");
    let reopened = manager(FileStore::open(&path).unwrap());
    assert!(reopened.get(&id).unwrap().last_used_at.is_some());
}

#[test]
fn last_use_times_not_yet_written_are_lost_in_a_crash() {
    let (_dir, path) = store_path();
    let service = manager(FileStore::open(&path).unwrap());
    let (token, id) = create(&service, "used");
    service.verify(&token).unwrap();
    // As if the process were killed: nothing runs after this point.
    std::mem::forget(service);

    let reopened = manager(FileStore::open(&path).unwrap());
    assert_eq!(reopened.get(&id).unwrap().last_used_at, None);
    reopened.verify(&token).unwrap();
    reopened.store().flush().unwrap();
    std::mem::forget(reopened);

    let flushed = manager(FileStore::open(&path).unwrap());
    assert!(flushed.get(&id).unwrap().last_used_at.is_some());
}

#[test]
fn last_use_times_go_out_with_the_next_change() {
    let (_dir, path) = store_path();
    let service = manager(FileStore::open(&path).unwrap());
    let (token, id) = create(&service, "used");
    service.verify(&token).unwrap();
    create(&service, "another");
    std::mem::forget(service);

    let reopened = manager(FileStore::open(&path).unwrap());
    assert!(reopened.get(&id).unwrap().last_used_at.is_some());
}

#[test]
fn a_flush_timer_writes_last_use_times() {
    let (_dir, path) = store_path();
    let service = manager(
        FileStore::options()
            .flush_interval(Duration::from_millis(20))
            .open(&path)
            .unwrap(),
    );
    let (token, id) = create(&service, "used");
    service.verify(&token).unwrap();

    let other = FileStore::open(&path).unwrap();
    let start = Instant::now();
    while other.list(None).unwrap()[0].last_used_at().is_none() {
        assert!(start.elapsed() < Duration::from_secs(10), "never flushed");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(other.get(&id).unwrap().is_some());
}

#[test]
fn a_last_use_time_reads_the_same_everywhere_after_the_clock_steps_back() {
    let (_dir, path) = store_path();
    let clock = ManualClock::new(datetime!(2026-01-01 12:00 UTC));
    let service = TokenManager::builder(FileStore::open(&path).unwrap(), key(), PREFIX)
        .clock(clock.clone())
        .last_used_resolution(time::Duration::ZERO)
        .build()
        .unwrap();
    let (token, id) = create(&service, "used");
    let last_use = |store: &FileStore| store.get(&id).unwrap().unwrap().last_used_at();
    service.verify(&token).unwrap();
    service.store().flush().unwrap();

    // The file keeps the latest time it was given, so the store shows no earlier one.
    clock.advance(-time::Duration::hours(2));
    service.verify(&token).unwrap();
    service.store().flush().unwrap();
    let noon = Some(datetime!(2026-01-01 12:00 UTC));
    assert_eq!(last_use(service.store()), noon);
    assert_eq!(last_use(&FileStore::open(&path).unwrap()), noon);

    // A later use still moves it on, here and in the file.
    clock.advance(time::Duration::hours(3));
    service.verify(&token).unwrap();
    drop(service);
    let one = Some(datetime!(2026-01-01 13:00 UTC));
    assert_eq!(last_use(&FileStore::open(&path).unwrap()), one);
}

#[test]
fn compaction_keeps_the_live_records_and_other_stores_follow() {
    let (_dir, path) = store_path();
    let writer = manager(
        FileStore::options()
            .compact_after(8 << 10)
            .open(&path)
            .unwrap(),
    );
    let reader = manager(FileStore::open(&path).unwrap());
    let (survivor, survivor_id) = create(&writer, "survivor");
    reader.verify(&survivor).unwrap();

    let mut largest = 0;
    for round in 0..150 {
        let (_, id) = create(&writer, &format!("churn {round}"));
        writer.delete(&id).unwrap();
        largest = largest.max(fs::metadata(&path).unwrap().len());
    }
    assert!(largest < 40 << 10, "the log grew to {largest} bytes");

    // Compaction put a new file in place; the reader notices and follows it.
    let (late, _) = create(&writer, "after compaction");
    assert_eq!(reader.verify(&late).unwrap().name(), "after compaction");
    reader.store().refresh().unwrap();
    assert_eq!(reader.list(None).unwrap().len(), 2);
    assert!(reader.get(&survivor_id).is_ok());
    create(&reader, "written by the reader");
    assert_eq!(writer.list(None).unwrap().len(), 3);

    writer.store().compact().unwrap();
    let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["tokens.store"]);
}

#[test]
fn a_writer_gives_up_on_a_lock_held_too_long() {
    let (_dir, path) = store_path();
    let store = FileStore::options()
        .lock_timeout(Duration::from_millis(100))
        .open(&path)
        .unwrap();
    let manager = manager(store);
    let (token, _) = create(&manager, "before the lock");

    let holder = File::open(&path).unwrap();
    holder.lock().unwrap();
    let blocked = manager.create(NewToken::new("blocked", Lifetime::Never));
    match blocked {
        Err(api_tokens::ManageError::Store(StoreError::Locked { path: locked })) => {
            assert_eq!(locked, path);
        }
        other => panic!("expected a lock timeout, got {other:?}"),
    }
    // Reads go on while the lock is held.
    manager.verify(&token).unwrap();
    holder.unlock().unwrap();
    create(&manager, "after the lock");
}

#[test]
fn purge_removes_expired_records_in_one_commit() {
    let (_dir, path) = store_path();
    let clock = api_tokens::ManualClock::new(time::OffsetDateTime::now_utc());
    let manager = TokenManager::builder(FileStore::open(&path).unwrap(), key(), PREFIX)
        .clock(clock.clone())
        .build()
        .unwrap();
    for i in 0..5 {
        let lifetime = Lifetime::For(time::Duration::hours(1 + i));
        let _ = manager
            .create(NewToken::new(format!("t{i}"), lifetime))
            .unwrap();
    }
    clock.advance(time::Duration::minutes(150));
    let size = fs::metadata(&path).unwrap().len();
    assert_eq!(manager.purge_expired().unwrap().len(), 2);
    let grown = fs::metadata(&path).unwrap().len() - size;
    assert!(
        grown < 200,
        "one small entry, not one per removal: {grown} bytes"
    );
    drop(manager);
    assert_eq!(FileStore::open(&path).unwrap().len(), 3);
}

#[cfg(unix)]
#[test]
fn a_store_behind_a_symbolic_link_stays_one_file() {
    let (dir, real) = store_path();
    let link = dir.path().join("link.store");
    drop(FileStore::open(&real).unwrap());
    std::os::unix::fs::symlink(&real, &link).unwrap();

    let through_link = manager(FileStore::options().compact_after(0).open(&link).unwrap());
    let direct = manager(FileStore::open(&real).unwrap());
    let (token, _) = create(&through_link, "via the link");
    // Compaction ran after that change; both names still lead to the same store.
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(direct.verify(&token).unwrap().name(), "via the link");
    create(&direct, "direct");
    assert_eq!(through_link.list(None).unwrap().len(), 2);

    let dangling = dir.path().join("dangling.store");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
    assert!(matches!(
        FileStore::open(&dangling),
        Err(StoreError::Io { .. })
    ));
}

#[test]
fn verifies_go_on_while_other_threads_write() {
    let (_dir, path) = store_path();
    let manager = std::sync::Arc::new(manager(
        FileStore::options()
            .refresh_interval(Duration::ZERO)
            .compact_after(4096)
            .open(&path)
            .unwrap(),
    ));
    let stable: Vec<String> = (0..8)
        .map(|i| create(&manager, &format!("s{i}")).0)
        .collect();

    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            // Stops the verifiers even if this thread panics.
            struct Done<'a>(&'a std::sync::atomic::AtomicBool);
            impl Drop for Done<'_> {
                fn drop(&mut self) {
                    self.0.store(true, std::sync::atomic::Ordering::Release);
                }
            }
            let _done = Done(&done);
            for round in 0..60 {
                let (token, id) = create(&manager, &format!("w{round}"));
                manager.verify(&token).unwrap();
                manager.delete(&id).unwrap();
                assert!(matches!(manager.verify(&token), Err(VerifyError::Invalid)));
            }
        });
        for _ in 0..3 {
            scope.spawn(|| {
                while !done.load(std::sync::atomic::Ordering::Acquire) {
                    for token in &stable {
                        manager.verify(token).unwrap();
                    }
                }
            });
        }
    });
    assert_eq!(manager.list(None).unwrap().len(), 8);
}

#[test]
fn changes_from_a_process_with_an_old_view_keep_what_others_wrote() {
    let (_dir, path) = store_path();
    let stale_view = || refreshing_every(&path, Duration::from_secs(3600));
    let old_key = HashingKey::new(&[1; 32]).unwrap();
    let creator = TokenManager::builder(FileStore::open(&path).unwrap(), old_key, PREFIX)
        .build()
        .unwrap();
    let request = NewToken::new("deploy", Lifetime::Never).scopes(["admin", "repo:read"]);
    let (token, info) = creator.create(request).unwrap().into_parts();

    // A service that rotated its hashing key, and whose memory is an hour behind.
    let service = TokenManager::builder(stale_view(), key(), PREFIX)
        .previous_key(HashingKey::new(&[1; 32]).unwrap())
        .build()
        .unwrap();
    let admin = manager(FileStore::open(&path).unwrap());
    service.verify(token.expose_secret()).unwrap();

    // The admin takes `admin` away; the service re-hashes the record on its next verify
    // and rotates the token, both from its old view.
    admin
        .update(&info.id, TokenUpdate::new().scopes(["repo:read"]))
        .unwrap();
    service.verify(token.expose_secret()).unwrap();
    let rotated = service
        .rotate(&info.id, time::Duration::minutes(1))
        .unwrap();

    let fresh = manager(FileStore::open(&path).unwrap());
    assert_eq!(fresh.get(&info.id).unwrap().scopes, ["repo:read"]);
    assert_eq!(rotated.info().scopes, ["repo:read"]);
}

#[cfg(unix)]
#[test]
fn compaction_keeps_the_file_s_permissions_and_owner() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    let (_dir, path) = store_path();
    let manager = manager(FileStore::open(&path).unwrap());
    let _ = create(&manager, "kept");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    // Giving the file away takes privilege; as root, hand it to `nobody` as a service's
    // store would be, otherwise keep our own ownership.
    let given_away = std::os::unix::fs::chown(&path, Some(65534), Some(65534)).is_ok();
    let before = fs::metadata(&path).unwrap();

    manager.store().compact().unwrap();

    let after = fs::metadata(&path).unwrap();
    assert_ne!(after.ino(), before.ino(), "compaction writes a new file");
    assert_eq!(after.permissions().mode() & 0o777, 0o640);
    assert_eq!(
        (after.uid(), after.gid()),
        (before.uid(), before.gid()),
        "given away: {given_away}"
    );
}
