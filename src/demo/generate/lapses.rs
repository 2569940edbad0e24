//! The planted lapses: one case for every early-warning rule of `docs/domain.md`, at fixed ids
//! in the first college (C01, 计算机学院) and at dates relative to `today`, so that the
//! warnings have something to find whatever the seed and the day.
//!
//! C01's branches are always B01–B03 undergraduate, B04–B05 graduate, B06–B07 staff.
//! Planted people are numbered from 901 (`C01-B01-M901`…); they are exemplary in
//! everything but their one lapse (high engagement, never late with dues, never in a
//! correction or a committee), so each shows up under its own rule only. The random
//! population adds realistic noise on top (late payers, pending transfers of graduates,
//! probations ending soon…).
//!
//! | id | lapse |
//! |---|---|
//! | C01-B02 | no `branch_assembly` in the current quarter |
//! | C01-B03 | the weak branch: ~50% present (others ~85%), 60% of monthly meetings held, 2 in 5 members 3–8 months in arrears, quiz mean ~63 (others 75–87) |
//! | C01-B05 | no `committee` meeting this month; its group C01-B05-G2 has no `group` meeting this month |
//! | C01-B06 | no `lecture` in the current quarter |
//! | C01-B07 | committee elected at launch (4+ years ago), never renewed: term expired |
//! | C01-B01-M901 | applied 40 days ago, no talk |
//! | C01-B01-M902 | activist for 14 months, last assessed 8 months ago |
//! | C01-B01-M903 | probation ends in about 20 days, no conversion |
//! | C01-B01-M904 | probation ended about 25 days ago, no conversion |
//! | C01-B04-M905 | full member, not rated in last year's democratic evaluation |
//! | C01-B01-M906 | graduated last June, no transfer out |
//! | C01-B04-M907 | graduated more than 2 years ago, no transfer out |
//! | C01-B04-M908 | development target graduating in 60 days |
//! | C01-B04-M909 | probationary member graduating in 45 days (before probation ends) |
//! | C01-B01-M910 | admitted 4 months ago, admission not approved |
//! | C01-B01-M911 | converted 4 months ago, conversion not approved |
//! | C01-B04-M912 | full member absent from every meeting for 7 months |
//! | C01-B01-M913 | absent from every meeting of the last 60 days (3+ in a row) |
//! | C01-B01-M914 | no study for the last 40 days |
//! | C01-B01-M915 | no dues for the last 4 months (3 whole months and the current one) |
//! | C01-B04-M916 | no dues for the last 8 months (7 whole months and the current one) |
//! | C01-B01-M917 | probation extended by 6 months (ends in about 3 months) |
//!
//! The meeting lapses are about the current month and quarter; other branches hold
//! their monthly meetings by the 22nd and their quarterly ones by the 22nd of the
//! quarter's second month, so the contrast is clean from then on (the reference day
//! 2026-11-25 is). Natural noise to expect besides: graduates whose transfer is pending
//! (about 15% of graduating members, some for over 2 years), probations ending within
//! 30 days, a few members 3–5 months in arrears (1.5% of members), members admitted
//! this month with no meeting or payment yet, and the temporary branch C02-L1
//! (dissolved in its first September: no meetings, no committee).

use chrono::Datelike;
use ingest::catalogue::Stage;

use super::calendar::{
    Date, Month, academic_year, days, months, workday, workday_from, years, ymd,
};
use super::people::{Person, StepKind, Track, pipeline_to_admission};
use super::university::{Branch, Builder};

const UNDERGRADUATE: usize = 0;
const GRADUATE: usize = 3;

/// Marks the branch lapses of C01 (before its people are made: the weak branch's
/// people are less engaged).
pub(super) fn plant_branch_quirks(branches: &mut [Branch]) {
    // Its assembly of this quarter has not been held.
    branches[1].quirks.no_assembly_this_quarter = true;
    // Low attendance, few meetings, arrears: an outlier against C01's other branches.
    branches[2].quirks.weak = true;
    // This month's committee meeting, and the meeting of its second group, are missing.
    branches[4].quirks.no_committee_this_month = true;
    branches[4].quirks.no_group_this_month = Some(1);
    // No lecture this quarter.
    branches[5].quirks.no_lecture_this_quarter = true;
    // The committee elected at launch was never renewed.
    branches[6].quirks.term_expired = true;
}

/// The democratic evaluation whose deadline (end of January) has passed most recently.
pub(super) fn last_evaluation_due(today: Date) -> i32 {
    if today.month() >= 2 {
        today.year() - 1
    } else {
        today.year() - 2
    }
}

/// Adds the planted people of C01 to their branches.
pub(super) fn plant_people(b: &mut Builder<'_>, branches: &mut [Branch]) {
    let t = b.uni.today;
    let ay = academic_year(t);
    let this_month = Month::of(t);
    // The cohort in its last year: still at school, with years of history (in summer,
    // the cohort that has just become the last year).
    let senior = academic_year(days(t, 75)) - 3;
    let mut planted = Vec::new();
    let mut add = |b: &mut Builder<'_>,
                   branch: usize,
                   n: u32,
                   track: Track,
                   entry: i32,
                   shape: &dyn Fn(&mut Person)| {
        let home = &branches[branch];
        let mut p = b.student(home, format!("{}-M{n}", home.id), track, entry);
        p.planted = true;
        // Of age (18) before their first step, whatever the draw.
        p.birth = p.birth.min(days(years(p.registered(), -18), -60));
        p.engagement = 0.92;
        p.late_payer = false;
        shape(&mut p);
        p.settle();
        planted.push((branch, p));
    };
    let approved = |p: &mut Person, admitted: Date| {
        p.push(workday(days(admitted, 30)), StepKind::AdmissionApproved);
    };
    let transferred = |p: &mut Person, stage: Stage, since: Date| {
        let on = workday(days(p.registered(), 10));
        p.push(
            on,
            StepKind::TransferredIn {
                from: "武汉大学计算机学院本科生党支部".to_string(),
                stage,
                since,
            },
        );
    };
    let doctoral_until = |p: &mut Person| p.graduation = Some(ymd(ay + 2, 6, 30));

    // Application not answered: applied 40 days ago, nobody talked with them.
    add(b, UNDERGRADUATE, 901, Track::Undergraduate, ay - 1, &|p| {
        p.push(workday(days(t, -40)), StepKind::Applied);
    });
    // Activist assessment overdue: assessed once, 8 months ago.
    add(b, UNDERGRADUATE, 902, Track::Undergraduate, ay - 2, &|p| {
        let applied = workday(days(p.registered(), 30));
        p.push(applied, StepKind::Applied);
        p.push(workday(days(applied, 14)), StepKind::Talked);
        let activist = workday(months(t, -14));
        p.push(activist, StepKind::ActivistDesignated);
        p.push(workday(days(activist, 165)), StepKind::ActivistAssessed);
    });
    // Probation ending within 30 days, no conversion yet.
    add(b, UNDERGRADUATE, 903, Track::Undergraduate, senior, &|p| {
        let admitted = workday(days(years(t, -1), 20));
        pipeline_to_admission(p, admitted);
        approved(p, admitted);
    });
    // Probation ended 25 days ago, no conversion.
    add(b, UNDERGRADUATE, 904, Track::Undergraduate, senior, &|p| {
        let admitted = workday(days(years(t, -1), -25));
        pipeline_to_admission(p, admitted);
        approved(p, admitted);
    });
    // Evaluation missing: a full member left out of last year's evaluation.
    add(b, GRADUATE, 905, Track::Doctoral, ay - 2, &|p| {
        doctoral_until(p);
        transferred(p, Stage::FullMember, days(p.registered(), -800));
        p.quirks.skip_evaluation = Some(last_evaluation_due(t));
    });
    // Graduate transfer pending: graduated in June, relationship still here.
    add(b, UNDERGRADUATE, 906, Track::Undergraduate, ay - 4, &|p| {
        let admitted = workday(ymd(ay - 2, 11, 10));
        pipeline_to_admission(p, admitted);
        approved(p, admitted);
        let converted = workday_from(years(admitted, 1));
        p.push(converted, StepKind::ConvertedFull);
        p.push(workday(days(converted, 40)), StepKind::ConversionApproved);
        p.push(workday(ymd(ay, 6, 24)), StepKind::Graduated);
    });
    // Kept at the school for more than 2 years after graduation.
    add(b, GRADUATE, 907, Track::Master { years: 2 }, ay - 4, &|p| {
        transferred(p, Stage::FullMember, days(p.registered(), -500));
        p.push(workday(ymd(ay - 2, 6, 24)), StepKind::Graduated);
    });
    // Graduating soon: a development target who leaves in 60 days.
    add(b, GRADUATE, 908, Track::Doctoral, ay - 4, &|p| {
        p.graduation = Some(days(t, 60));
        transferred(p, Stage::Activist, days(p.registered(), -200));
        let target = workday(days(t, -90));
        let mut on = days(p.registered(), 180);
        while on < target {
            p.push(workday(on), StepKind::ActivistAssessed);
            on = days(on, 170);
        }
        p.push(target, StepKind::DevelopmentTargetDesignated);
        p.push(
            workday(days(target, 20)),
            StepKind::PoliticalReview { passed: true },
        );
        p.push(
            workday(days(target, 30)),
            StepKind::Training { hours: 28, days: 4 },
        );
    });
    // Graduating soon: a probationary member who leaves in 45 days, before probation ends.
    add(b, GRADUATE, 909, Track::Master { years: 3 }, ay - 3, &|p| {
        p.graduation = Some(days(t, 45));
        let admitted = workday(months(t, -4));
        pipeline_to_admission(p, admitted);
        p.push(workday(days(admitted, 40)), StepKind::AdmissionApproved);
    });
    // Approval overdue: admitted 4 months ago, not approved.
    add(b, UNDERGRADUATE, 910, Track::Undergraduate, senior, &|p| {
        pipeline_to_admission(p, workday(months(t, -4)));
    });
    // Approval overdue: converted 4 months ago, conversion not approved.
    add(b, UNDERGRADUATE, 911, Track::Undergraduate, senior, &|p| {
        let admitted = workday(months(t, -16));
        pipeline_to_admission(p, admitted);
        approved(p, admitted);
        p.push(workday_from(years(admitted, 1)), StepKind::ConvertedFull);
    });
    // No organisational life: absent from every meeting for 7 months.
    add(b, GRADUATE, 912, Track::Doctoral, ay - 2, &|p| {
        doctoral_until(p);
        transferred(p, Stage::FullMember, days(p.registered(), -700));
        p.quirks.absent_since = Some(months(t, -7));
    });
    // Low participation: absent from the meetings of the last 60 days (3 or more).
    add(b, UNDERGRADUATE, 913, Track::Undergraduate, senior, &|p| {
        let admitted = workday(months(t, -6));
        pipeline_to_admission(p, admitted);
        approved(p, admitted);
        p.quirks.absent_since = Some(days(t, -60));
    });
    // Low participation: no study for the last 40 days.
    add(b, UNDERGRADUATE, 914, Track::Undergraduate, senior, &|p| {
        let admitted = workday(months(t, -8));
        pipeline_to_admission(p, admitted);
        approved(p, admitted);
        p.quirks.study_stop = Some(days(t, -40));
    });
    // Dues arrears (warning): nothing paid for the last 4 months.
    add(b, UNDERGRADUATE, 915, Track::Undergraduate, senior, &|p| {
        let admitted = workday(months(t, -10));
        pipeline_to_admission(p, admitted);
        approved(p, admitted);
        p.quirks.dues_stop = Some(this_month.plus(-3).first());
    });
    // Dues arrears (critical): nothing paid for the last 8 months.
    add(b, GRADUATE, 916, Track::Doctoral, ay - 2, &|p| {
        doctoral_until(p);
        transferred(p, Stage::FullMember, days(p.registered(), -900));
        p.quirks.dues_stop = Some(this_month.plus(-7).first());
    });
    // A probation extended by half a year (it ends in about 3 months).
    add(b, UNDERGRADUATE, 917, Track::Undergraduate, senior, &|p| {
        let admitted = workday(months(t, -15));
        pipeline_to_admission(p, admitted);
        approved(p, admitted);
        p.push(
            workday(years(admitted, 1)),
            StepKind::ProbationExtended { months: 6 },
        );
    });
    for (branch, p) in planted {
        branches[branch].people.push(p);
    }
}
