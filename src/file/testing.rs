//! Records for the unit tests of the file store.

use std::collections::BTreeMap;
use std::sync::Arc;

use ring::rand::SystemRandom;
use time::OffsetDateTime;

use crate::expiry::Expiry;
use crate::record::{NewRecord, TokenRecord};
use crate::secret::{HashingKey, random_id_and_secret};

/// `count` records with random ids, named `token 0`, `token 1` and so on.
pub(crate) fn records(count: usize) -> Vec<Arc<TokenRecord>> {
    let key = HashingKey::new(&[1; 32]).unwrap();
    let rng = SystemRandom::new();
    (0..count)
        .map(|i| {
            let (id, secret) = random_id_and_secret(&rng).unwrap();
            Arc::new(TokenRecord::new(NewRecord {
                id,
                name: format!("token {i}"),
                owner: Some("owner".to_owned()),
                scopes: vec!["read".to_owned()],
                metadata: BTreeMap::new(),
                created_at: OffsetDateTime::UNIX_EPOCH,
                expires: Expiry::Never,
                key_id: key.id(),
                hash: key.hash(&secret),
            }))
        })
        .collect()
}
