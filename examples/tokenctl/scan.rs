//! `tokenctl scan`: finding the store's tokens in files, and revoking the live ones.

use super::*;

/// Searches files, or stdin, for the store's tokens; prints where each is and whether it is
/// live, then revokes the live ones if asked to.
pub(crate) fn scan(
    manager: &Manager,
    files: &[PathBuf],
    revoke: bool,
    yes: bool,
) -> Result<(), Failure> {
    let stdin = Path::new("-");
    let sources: Vec<&Path> = if files.is_empty() {
        vec![stdin]
    } else {
        files.iter().map(PathBuf::as_path).collect()
    };
    if revoke && !yes {
        let refuse = |why: &str| {
            Err(Failure::Usage(format!(
                "refusing to revoke without --yes: {why}"
            )))
        };
        if sources.contains(&stdin) {
            return refuse("stdin is the text being scanned");
        }
        if !io::stdin().is_terminal() {
            return refuse("stdin is not a terminal");
        }
    }

    let scanner = TokenScanner::for_prefix(manager.format().prefix().clone());
    let mut seen = HashSet::new();
    let mut live: Vec<VerifiedToken> = Vec::new();
    let mut store_failure = None;
    let mut unreadable = false;
    for source in sources {
        let (label, reader): (String, Box<dyn Read>) = if source == stdin {
            ("<stdin>".to_owned(), Box::new(io::stdin().lock()))
        } else {
            match fs::File::open(source) {
                Ok(file) => (source.display().to_string(), Box::new(file)),
                Err(error) => {
                    eprintln!("tokenctl: cannot read {}: {error}", source.display());
                    unreadable = true;
                    continue;
                }
            }
        };
        let scanned = scanner.scan_reader(reader, |found, token| {
            if store_failure.is_some() {
                return;
            }
            let status = match manager.verify(token) {
                Ok(verified) => {
                    let status = format!("live \"{}\"", verified.name());
                    if !live.iter().any(|known| known.id() == verified.id()) {
                        live.push(verified);
                    }
                    status
                }
                Err(VerifyError::Expired) => "expired".to_owned(),
                Err(VerifyError::Store(error)) => {
                    store_failure = Some(Failure::store(&error));
                    return;
                }
                Err(_) => "unknown".to_owned(),
            };
            seen.insert(found.id);
            let (line, column, id) = (found.line, found.column, found.id);
            print_out(&format!("{label}:{line}:{column}: {id} {status}\n"));
        });
        if let Some(failure) = store_failure {
            return Err(failure);
        }
        if let Err(error) = scanned {
            eprintln!("tokenctl: cannot read {label}: {error}");
            unreadable = true;
        }
    }
    eprintln!("found {} token(s), {} of them live", seen.len(), live.len());

    if revoke {
        for token in &live {
            revoke_found(manager, token, yes)?;
        }
    }
    if unreadable {
        return Err(Failure::Usage(String::new()));
    }
    if !live.is_empty() {
        return Err(Failure::Rejected(String::new()));
    }
    Ok(())
}

/// Deletes a live token that `scan` found, after asking unless `yes`.
pub(crate) fn revoke_found(
    manager: &Manager,
    token: &VerifiedToken,
    yes: bool,
) -> Result<(), Failure> {
    let info = match manager.get(token.id()) {
        Ok(info) => info,
        Err(ManageError::NotFound(id)) => {
            eprintln!("token {id} is deleted already");
            return Ok(());
        }
        Err(error) => return Err(Failure::manage(&error)),
    };
    if !yes && !confirm_delete(&info)? {
        eprintln!("kept token {} \"{}\"", info.id, info.name);
        return Ok(());
    }
    match manager.delete(&info.id) {
        Ok(()) => eprintln!("revoked token {} \"{}\"", info.id, info.name),
        Err(ManageError::NotFound(id)) => eprintln!("token {id} is deleted already"),
        Err(error) => return Err(Failure::manage(&error)),
    }
    Ok(())
}

/// The store as `scan` sees it: lookups, listings and deletions pass through, while the
/// last-use times and re-hashes that a successful verify writes are dropped, so that
/// finding a token in a file does not make it look used.
#[derive(Debug)]
pub(crate) struct LookOnly(pub(crate) FileStore);

impl TokenStore for LookOnly {
    fn insert(&self, _record: TokenRecord) -> Result<(), StoreError> {
        Err(look_only())
    }

    fn get(&self, id: &TokenId) -> Result<Option<Arc<TokenRecord>>, StoreError> {
        self.0.get(id)
    }

    fn list(&self, owner: Option<&str>) -> Result<Vec<Arc<TokenRecord>>, StoreError> {
        self.0.list(owner)
    }

    fn update(
        &self,
        _id: &TokenId,
        _change: &mut dyn FnMut(&mut TokenRecord),
    ) -> Result<Arc<TokenRecord>, StoreError> {
        Err(look_only())
    }

    fn remove(&self, id: &TokenId) -> Result<(), StoreError> {
        self.0.remove(id)
    }

    fn record_use(&self, _id: &TokenId, _at: OffsetDateTime) -> Result<(), StoreError> {
        Ok(())
    }
}

pub(crate) fn look_only() -> StoreError {
    StoreError::Backend(Box::new(io::Error::other("scan changes no token")))
}
