//! Calendar arithmetic in China Standard Time, the calendar every Party-affairs rule
//! counts in: months and quarters, working days, and plausible times of day.

use chrono::{Datelike, Days, Months, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Weekday};
use rand::Rng;
use rand::rngs::StdRng;

pub(super) type Date = NaiveDate;

/// A calendar month counted from year 0, so months compare and subtract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct Month(pub(super) i32);

impl Month {
    pub(super) fn of(d: Date) -> Month {
        Month(d.year() * 12 + d.month0() as i32)
    }

    pub(super) fn year(self) -> i32 {
        self.0.div_euclid(12)
    }

    /// 1 to 12.
    pub(super) fn number(self) -> u32 {
        self.0.rem_euclid(12) as u32 + 1
    }

    pub(super) fn plus(self, n: i32) -> Month {
        Month(self.0 + n)
    }

    pub(super) fn first(self) -> Date {
        Date::from_ymd_opt(self.year(), self.number(), 1).expect("the first of a month exists")
    }

    pub(super) fn last(self) -> Date {
        self.plus(1)
            .first()
            .pred_opt()
            .expect("a month has a last day")
    }

    /// Day `day` of the month, clamped to its last day.
    pub(super) fn day(self, day: u32) -> Date {
        let last = self.last();
        if day >= last.day() {
            last
        } else {
            Date::from_ymd_opt(self.year(), self.number(), day.max(1)).expect("a valid day")
        }
    }

    /// `YYYY-MM`, the form of a dues period.
    pub(super) fn period(self) -> String {
        format!("{:04}-{:02}", self.year(), self.number())
    }

    /// `YYYYMM`, for ids.
    pub(super) fn compact(self) -> String {
        format!("{:04}{:02}", self.year(), self.number())
    }

    /// The quarter the month falls in (January–March share one), as a comparable number.
    pub(super) fn quarter(self) -> i32 {
        self.0.div_euclid(3)
    }

    /// 0, 1 or 2: the month's place in its quarter.
    pub(super) fn in_quarter(self) -> i32 {
        self.0.rem_euclid(3)
    }

    /// Winter and summer vacations: students are off campus, meetings move online.
    pub(super) fn is_vacation(self) -> bool {
        matches!(self.number(), 1 | 2 | 7 | 8)
    }

    pub(super) fn contains(self, d: Date) -> bool {
        Month::of(d) == self
    }
}

pub(super) fn days(d: Date, n: i64) -> Date {
    if n >= 0 {
        d.checked_add_days(Days::new(n as u64))
    } else {
        d.checked_sub_days(Days::new(n.unsigned_abs()))
    }
    .expect("dates stay in range")
}

pub(super) fn months(d: Date, n: i32) -> Date {
    if n >= 0 {
        d.checked_add_months(Months::new(n as u32))
    } else {
        d.checked_sub_months(Months::new(n.unsigned_abs()))
    }
    .expect("dates stay in range")
}

/// A date `n` years later (29 February becomes 28 February).
pub(super) fn years(d: Date, n: i32) -> Date {
    months(d, 12 * n)
}

pub(super) fn ymd(y: i32, m: u32, d: u32) -> Date {
    Date::from_ymd_opt(y, m, d).expect("a valid date")
}

/// The academic year a day belongs to: 2026-11-25 and 2027-03-01 are both in 2026.
pub(super) fn academic_year(d: Date) -> i32 {
    if d.month() >= 9 {
        d.year()
    } else {
        d.year() - 1
    }
}

/// The nearest working day of the same month: Saturday moves to Friday and Sunday to
/// Monday (the other way round at the edges of a month).
pub(super) fn workday(d: Date) -> Date {
    let same_month = |e: Date| {
        if e.month() == d.month() {
            Some(e)
        } else {
            None
        }
    };
    match d.weekday() {
        Weekday::Sat => same_month(days(d, -1)).unwrap_or(days(d, 2)),
        Weekday::Sun => same_month(days(d, 1)).unwrap_or(days(d, -2)),
        _ => d,
    }
}

/// The first working day on or after `d`: for steps that must not come early (a
/// conversion when probation ends).
pub(super) fn workday_from(d: Date) -> Date {
    match d.weekday() {
        Weekday::Sat => days(d, 2),
        Weekday::Sun => days(d, 1),
        _ => d,
    }
}

/// A working day between days `from` and `to` of month `m`, drawn uniformly (meetings
/// are spread over the week, not piled on Mondays).
pub(super) fn working_day(rng: &mut StdRng, m: Month, from: u32, to: u32) -> Date {
    for _ in 0..8 {
        let d = m.day(rng.random_range(from..=to));
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            return d;
        }
    }
    workday(m.day(from))
}

/// A uniformly chosen day in `from..=to` (`from` when the range is empty).
pub(super) fn day_between(rng: &mut StdRng, from: Date, to: Date) -> Date {
    let span = (to - from).num_days();
    if span <= 0 {
        from
    } else {
        days(from, rng.random_range(0..=span))
    }
}

pub(super) fn at(d: Date, hour: u32, minute: u32) -> NaiveDateTime {
    d.and_time(NaiveTime::from_hms_opt(hour, minute, 0).expect("a valid time"))
}

fn minutes_after_midnight(d: Date, minutes: u32, rng: &mut StdRng) -> NaiveDateTime {
    d.and_time(
        NaiveTime::from_hms_opt(minutes / 60, minutes % 60, rng.random_range(0..60))
            .expect("a valid time"),
    )
}

/// A time in office hours (08:30–17:30): records kept by secretaries and offices.
pub(super) fn office(rng: &mut StdRng, d: Date) -> NaiveDateTime {
    let m = rng.random_range(510..1050);
    minutes_after_midnight(d, m, rng)
}

/// A time a member does something on their own (study, forum, reading a notice):
/// mostly in the day, some in the evening.
pub(super) fn personal(rng: &mut StdRng, d: Date) -> NaiveDateTime {
    let m = if rng.random_bool(0.65) {
        rng.random_range(480..1080)
    } else {
        rng.random_range(1140..1350)
    };
    minutes_after_midnight(d, m, rng)
}

/// RFC 3339 in China Standard Time, the form producers send.
pub(super) fn stamp(t: NaiveDateTime) -> String {
    format!(
        "{}T{:02}:{:02}:{:02}+08:00",
        date_text(t.date()),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `YYYY-MM-DD`.
pub(super) fn date_text(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}
