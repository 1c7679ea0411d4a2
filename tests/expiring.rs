//! Finding the tokens that expire soon, for reminders.

mod common;

use api_tokens::Lifetime;
use common::{START, create, manager};
use time::Duration;

#[test]
fn tokens_expiring_within_the_window_are_listed_soonest_first() {
    let (manager, clock) = manager();
    let (in_three_days, _) = create(&manager, "3d", Lifetime::For(Duration::days(3)));
    let (in_one_day, _) = create(&manager, "1d", Lifetime::For(Duration::days(1)));
    let (in_seven_days, _) = create(&manager, "7d", Lifetime::Until(START + Duration::days(7)));
    let _ = create(&manager, "30d", Lifetime::For(Duration::days(30)));
    let _ = create(&manager, "never", Lifetime::Never);
    let (gone, _) = create(&manager, "1h", Lifetime::For(Duration::hours(1)));
    clock.advance(Duration::hours(1));

    let ids: Vec<_> = manager
        .expiring_within(Duration::days(7) - Duration::hours(1))
        .unwrap()
        .into_iter()
        .map(|info| info.id)
        .collect();

    assert_eq!(ids, [in_one_day, in_three_days, in_seven_days]);
    assert!(
        !ids.contains(&gone),
        "already expired tokens are not reminders"
    );
}

#[test]
fn an_enormous_window_does_not_overflow() {
    let (manager, _) = manager();
    let _ = create(&manager, "later", Lifetime::For(Duration::days(365)));
    assert_eq!(manager.expiring_within(Duration::MAX).unwrap().len(), 1);
}
