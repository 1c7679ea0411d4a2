//! Opening the store and finding, or making, the hashing key.

use super::*;

/// Opens the store; only `create` may make a new one, and only with a prefix to record.
pub(crate) fn open_store(cli: &Cli, creating: bool) -> Result<FileStore, Failure> {
    let lock_timeout = cli.lock_timeout.unsigned_abs();
    let mut options = FileStore::options()
        .create(false)
        .lock_timeout(lock_timeout);
    if let Some(prefix) = &cli.prefix {
        let prefix = Prefix::new(prefix).map_err(|error| Failure::Usage(one_line(&error)))?;
        options = options.prefix(prefix);
    }
    match options.clone().open(&cli.store) {
        Ok(store) => Ok(store),
        Err(StoreError::Io { source, .. })
            if creating && source.kind() == io::ErrorKind::NotFound =>
        {
            if cli.prefix.is_none() {
                return Err(Failure::Usage(format!(
                    "no token store at {}; give --prefix to create one",
                    cli.store.display()
                )));
            }
            let store = options.create(true).open(&cli.store).map_err(|error| {
                let detail = match &error {
                    StoreError::Io { source, .. } => source.to_string(),
                    other => one_line(other),
                };
                let path = cli.store.display();
                Failure::Store(format!("cannot create the token store {path}: {detail}"))
            })?;
            eprintln!("created the token store {}", cli.store.display());
            Ok(store)
        }
        Err(error) => Err(Failure::store(&error)),
    }
}

/// The hashing key from `--key-file`, the environment or the file beside the store; when
/// `may_create` and none exists, a new key file (unless the store already has tokens,
/// which a new key could not verify).
pub(crate) fn find_key(
    cli: &Cli,
    store: &FileStore,
    may_create: bool,
) -> Result<Option<HashingKey>, Failure> {
    let (path, named) = match support::find_key(cli.key_file.as_deref(), &cli.store)? {
        KeyLookup::Found(key) => return Ok(Some(key)),
        KeyLookup::Missing { path, named } => (path, named),
    };
    if !may_create {
        if named {
            return Err(Failure::Usage(format!("no key file at {}", path.display())));
        }
        return Ok(None);
    }
    if !store.is_empty() {
        return Err(Failure::Usage(format!(
            "no hashing key at {} (nor in {KEY_VARIABLE}), and the store {} already holds \
             tokens that a new key could not verify",
            path.display(),
            cli.store.display()
        )));
    }
    create_key_file(&path).map(Some)
}

/// Writes a new random key to `path`, readable by its owner only. The file appears complete
/// or not at all; if another process made one first, that one is used.
/// Says on stderr when the store's tokens were hashed under other keys than `key`: a
/// service that holds only those would refuse the new token. Rotating the hashing key does
/// this on purpose, so it is a warning, not an error.
pub(crate) fn warn_of_other_keys(store: &FileStore, key: KeyId) -> Result<(), Failure> {
    let records = store.list(None).map_err(|e| fail_store(&e))?;
    let mut others: Vec<KeyId> = records
        .iter()
        .map(|r| r.key_id())
        .filter(|id| *id != key)
        .collect();
    others.sort_unstable();
    others.dedup();
    if !others.is_empty() {
        let others: Vec<String> = others.iter().map(KeyId::to_string).collect();
        eprintln!(
            "warning: this store's tokens were hashed with another key ({}), not with this one \
             ({key}); a service that does not hold this key will refuse the new token",
            others.join(", ")
        );
    }
    Ok(())
}

pub(crate) fn create_key_file(path: &Path) -> Result<HashingKey, Failure> {
    let failed = |error: io::Error| {
        Failure::Store(format!(
            "cannot create the key file {}: {error}",
            path.display()
        ))
    };
    let bytes = HashingKey::generate_bytes().map_err(|e| fail_store(&e))?;
    let encoded = Zeroizing::new(format!("{}\n", BASE64.encode(&bytes[..])));

    let mut temp_name = path.as_os_str().to_owned();
    temp_name.push(format!(".{}.tmp", std::process::id()));
    let temp = PathBuf::from(temp_name);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&temp).and_then(|mut file| {
        file.write_all(encoded.as_bytes())?;
        file.sync_all()
    });
    let linked = written.and_then(|()| match fs::hard_link(&temp, path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(error) => Err(error),
    });
    let _ = fs::remove_file(&temp);
    if !linked.map_err(failed)? {
        let encoded = support::read_limited(path).map_err(failed)?;
        return Ok(support::decode_key(&encoded, &path.display().to_string())?);
    }
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        let _ = fs::File::open(dir).and_then(|dir| dir.sync_all());
    }

    eprintln!(
        "created a new hashing key in {} (readable by you only); keep it, and keep it apart \
         from copies of the store",
        path.display()
    );
    HashingKey::new(&bytes[..]).map_err(|e| fail_store(&e))
}
