//! Calendar arithmetic the follow-up needs, with the conventions spelled out once.

use chrono::{Datelike, Months, NaiveDate};

/// `date` plus `months` calendar months; a day that does not exist in the target month falls on
/// its last day (31 January + 1 month = 28 or 29 February).
pub fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

/// The day a person born on `birth` turns `years`: the first day on which their age in whole
/// years (as [`crate::Person::age_on`] counts it) reaches `years`. Someone born on 29 February
/// has their birthday on 1 March in common years.
pub fn birthday(birth: NaiveDate, years: u32) -> Option<NaiveDate> {
    let year = birth.year().checked_add(i32::try_from(years).ok()?)?;
    NaiveDate::from_ymd_opt(year, birth.month(), birth.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, 3, 1))
}

/// French short date, as Excel in France reads it: 05/03/2027.
pub fn french(date: NaiveDate) -> String {
    date.format("%d/%m/%Y").to_string()
}

/// Whole days from `from` to `to` (negative when `to` is earlier).
pub fn days_between(from: NaiveDate, to: NaiveDate) -> i64 {
    (to - from).num_days()
}
