//! The safety check page: findings from the domain's rules as facts are entered, a "do not
//! proceed" finding blocks the case from being checked unless overridden with a reason, and
//! overrides are recorded and audited. Site limits are settings.

use marrow_domain::case::CaseStatus;
use marrow_domain::role::Role;
use marrow_testkit::app::snapshot;
use marrow_testkit::synthetic::{Staff, case_at};

use crate::sqlite_app;

#[tokio::test]
async fn findings_appear_for_the_facts_entered_and_a_do_not_proceed_blocks_checking_until_overridden()
 {
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!").await;
    let (_, case) = case_at(&app.store, &staff, 1, CaseStatus::Ordered).await;
    let mut nurse = app.browser_as(Role::Nurse).await;
    let form = nurse.get(&format!("/cases/{case}/safety-check")).await;
    assert_eq!(form.status, 200);
    let facts = [
        ("platelets", "15"),
        ("inr", "1.1"),
        ("bloods_taken_at", "2026-11-24T07:00"),
        ("sedation_planned", "on"),
    ];

    // The live panel: the same rules the save uses.
    let live = nurse.post(&format!("/cases/{case}/safety-check/findings"), &facts).await;
    assert_eq!(live.status, 200);
    let body: serde_json::Value = serde_json::from_str(&live.html).unwrap();
    let rules: Vec<&str> =
        body["findings"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap()).collect();
    assert!(
        rules.contains(&"platelets-low") && rules.contains(&"sedation-without-escort"),
        "{rules:?}"
    );
    assert_eq!(body["blocked"], true);
    let platelets = body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "platelets-low")
        .unwrap()
        .clone();
    assert_eq!(platelets["severity"], "do-not-proceed");
    assert!(
        platelets["source"].as_str().unwrap().contains("SIR"),
        "every finding cites its source"
    );
    let partial =
        nurse.post(&format!("/cases/{case}/safety-check/findings"), &[("inr", "abc")]).await;
    let partial: serde_json::Value = serde_json::from_str(&partial.html).unwrap();
    assert_eq!(partial["error"]["field"], "inr");

    // Saving is refused and stores nothing while the findings stand.
    let before = snapshot(&app.store).await;
    let refused = nurse.post(&format!("/cases/{case}/safety-check"), &facts).await;
    assert_eq!(refused.status, 409);
    assert!(refused.html.contains("do not proceed"), "{}", refused.html);
    assert_eq!(before, snapshot(&app.store).await);
    assert_eq!(app.store.case(case).await.unwrap().status, CaseStatus::Ordered);

    // One override is not enough; both, with reasons, are.
    let mut one = facts.to_vec();
    one.push(("override.platelets-low", "Haematology consultant: proceed with platelet cover."));
    assert_eq!(nurse.post(&format!("/cases/{case}/safety-check"), &one).await.status, 409);
    let mut both = one.clone();
    both.push(("override.sedation-without-escort", "Sedation cancelled; local anaesthetic only."));
    let saved = nurse.post(&format!("/cases/{case}/safety-check"), &both).await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    assert_eq!(app.store.case(case).await.unwrap().status, CaseStatus::Checked);
    let extras = app.store.safety_extras(case).await.unwrap();
    assert_eq!(extras.overrides.len(), 2);
    let audit = app.store.audit_for("case", case.0).await.unwrap();
    let last = audit.last().unwrap();
    assert!(
        last.after.as_deref().unwrap().contains("platelet cover"),
        "the override is audited: {last:?}"
    );
    // The revised form shows the findings with the recorded reasons.
    let page = nurse.get(&format!("/cases/{case}/safety-check")).await;
    assert!(page.html.contains("Haematology consultant: proceed with platelet cover."));
}

#[tokio::test]
async fn the_site_changes_its_platelet_limit_and_the_rules_follow() {
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!").await;
    let (_, case) = case_at(&app.store, &staff, 1, CaseStatus::Ordered).await;
    let mut nurse = app.browser_as(Role::Nurse).await;
    let facts = [("platelets", "25"), ("inr", "1.0"), ("bloods_taken_at", "2026-11-24T07:00")];
    let live = nurse.post(&format!("/cases/{case}/safety-check/findings"), &facts).await;
    let body: serde_json::Value = serde_json::from_str(&live.html).unwrap();
    assert_eq!(body["blocked"], false, "25 ×10⁹/L is above the SIR default of 20");

    let mut admin = app.browser_as(Role::Admin).await;
    let bad = admin
        .post(
            "/admin/settings/safety",
            &[
                ("platelets_min", "-5"),
                ("inr_max", "3.0"),
                ("bloods_max_age_hours", "72"),
                ("drug_policy", "sir-2019-low-risk"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.html.contains("platelets_min"), "{}", bad.html);
    let ok = admin
        .post(
            "/admin/settings/safety",
            &[
                ("platelets_min", "30"),
                ("inr_max", "2.5"),
                ("bloods_max_age_hours", "48"),
                ("drug_policy", "sir-2019-high-risk"),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.html);
    let live = nurse.post(&format!("/cases/{case}/safety-check/findings"), &facts).await;
    let body: serde_json::Value = serde_json::from_str(&live.html).unwrap();
    assert_eq!(body["blocked"], true, "now below the site's 30: {body}");
    let mut clinician = app.browser_as(Role::Clinician).await;
    let r = clinician.post("/admin/settings/safety", &[("platelets_min", "5")]).await;
    assert_eq!(r.status, 403);
}
