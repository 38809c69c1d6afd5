//! User administration (administrators only; never clinical content).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use marrow_domain::required_text;
use marrow_domain::role::{Action, Role, check_new_password, parse_username};
use marrow_domain::safety_rules::DrugPolicy;
use marrow_store::{StoreError, UserRecord};

use super::{FormState, page, page_with, see_other};
use crate::AppState;
use crate::auth::{Staff, StaffForm, hash_password};
use crate::error::{AppError, PageError};
use crate::forms::FormValues;
use crate::views::Nav;

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    nav: Nav,
    users: Vec<UserRecord>,
    roles: &'static [Role],
    form: FormState,
}

pub async fn users(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    staff.require(Action::ManageUsers)?;
    let users = state.store.users().await?;
    page(&UsersPage { nav: Nav::of(&staff), users, roles: Role::ALL, form: FormState::default() })
}

pub async fn create_user(
    State(state): State<AppState>,
    StaffForm { staff, form }: StaffForm,
) -> Result<Response, PageError> {
    staff.require(Action::ManageUsers)?;
    let (username, display_name, role) = match read_new_user(&form) {
        Ok(p) => p,
        Err(e) => return refuse(&state, &staff, StatusCode::UNPROCESSABLE_ENTITY, form, e).await,
    };
    let password = form.get("password").to_owned();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AppError::Internal(format!("hashing: {e}")))??;
    let now = state.clock.now();
    match state
        .store
        .create_user(&username, &display_name, role, &hash, Some(staff.user.id), now)
        .await
    {
        Ok(_) => Ok(see_other("/admin/users")),
        Err(StoreError::Conflict(e)) => refuse(&state, &staff, StatusCode::CONFLICT, form, e).await,
        Err(e) => Err(e.into()),
    }
}

/// Re-shows the form with the error; the password is never echoed back.
async fn refuse(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    mut form: FormValues,
    error: marrow_domain::FieldError,
) -> Result<Response, PageError> {
    let users = state.store.users().await?;
    form.set("password", "");
    let page = UsersPage {
        nav: Nav::of(staff),
        users,
        roles: Role::ALL,
        form: FormState::with_error(form, error),
    };
    page_with(status, &page)
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    nav: Nav,
    form: FormState,
    classes: Vec<(&'static str, &'static str, bool)>,
    safety: FormValues,
    drug_policies: Vec<(&'static str, &'static str)>,
    phone: String,
}

async fn settings_page(
    state: &AppState,
    staff: &Staff,
    form: FormState,
    status: StatusCode,
) -> Result<Response, PageError> {
    let rules = state.store.counting_rules().await?;
    let classes = marrow_domain::morphology::CellClass::ALL
        .iter()
        .filter(|c| c.in_differential())
        .map(|&c| (c.code(), c.label(), rules.excluded.contains(&c)))
        .collect();
    let policy = crate::settings::site_policy(state).await?;
    let mut safety = FormValues::default();
    safety.set("platelets_min", policy.platelets_min.per_nanolitre().to_string());
    safety.set("inr_max", policy.inr_max.to_string());
    safety.set("bloods_max_age_hours", policy.bloods_max_age_hours.to_string());
    let current = state.store.site_setting(crate::settings::DRUG_POLICY).await?;
    safety.set(
        "drug_policy",
        current.unwrap_or_else(|| DrugPolicy::LowRiskSir2019.code().to_owned()),
    );
    if form.error.is_some() {
        for key in ["platelets_min", "inr_max", "bloods_max_age_hours", "drug_policy"] {
            if !form.get(key).is_empty() {
                safety.set(key, form.get(key));
            }
        }
    }
    let drug_policies = DrugPolicy::ALL.iter().map(|p| (p.code(), p.label())).collect();
    let phone =
        state.store.site_setting(crate::pages::checkin::PHONE_SETTING).await?.unwrap_or_default();
    page_with(
        status,
        &SettingsPage { nav: Nav::of(staff), form, classes, safety, drug_policies, phone },
    )
}

/// Saves the safety limits; each value is checked by the same parsing as the safety form.
pub async fn save_safety_settings(
    State(state): State<AppState>,
    StaffForm { staff, form }: StaffForm,
) -> Result<Response, PageError> {
    staff.require(Action::ManageSiteSettings)?;
    let parsed = read_safety_settings(&form);
    let (platelets, inr, hours, drugs) = match parsed {
        Ok(p) => p,
        Err(e) => {
            return settings_page(
                &state,
                &staff,
                FormState::with_error(form.clone(), e),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let stamp = marrow_store::Stamp { by: staff.user.id, at: state.clock.now() };
    use crate::settings::{BLOODS_MAX_AGE_HOURS, DRUG_POLICY, INR_MAX, PLATELETS_MIN};
    state
        .store
        .set_site_setting(PLATELETS_MIN, &platelets.per_nanolitre().to_string(), stamp)
        .await?;
    state.store.set_site_setting(INR_MAX, &inr.to_string(), stamp).await?;
    state.store.set_site_setting(BLOODS_MAX_AGE_HOURS, &hours.to_string(), stamp).await?;
    state.store.set_site_setting(DRUG_POLICY, drugs.code(), stamp).await?;
    Ok(see_other("/admin/settings"))
}

/// Site settings (administrators only).
pub async fn settings(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    staff.require(Action::ManageSiteSettings)?;
    settings_page(&state, &staff, FormState::default(), StatusCode::OK).await
}

/// Saves the classes the site leaves out of the denominator.
pub async fn save_settings(
    State(state): State<AppState>,
    StaffForm { staff, form }: StaffForm,
) -> Result<Response, PageError> {
    staff.require(Action::ManageSiteSettings)?;
    match read_counting_rules(&form) {
        Ok(rules) => {
            let stamp = marrow_store::Stamp { by: staff.user.id, at: state.clock.now() };
            state.store.set_counting_rules(&rules, stamp).await?;
            state.forget_counting_rules();
            Ok(see_other("/admin/settings"))
        }
        Err(e) => {
            settings_page(
                &state,
                &staff,
                FormState::with_error(form.clone(), e),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// Saves who the discharge sheet tells the patient to call.
pub async fn save_discharge_settings(
    State(state): State<AppState>,
    StaffForm { staff, form }: StaffForm,
) -> Result<Response, PageError> {
    staff.require(Action::ManageSiteSettings)?;
    match required_text("phone", form.get("phone"), 120) {
        Ok(phone) => {
            let stamp = marrow_store::Stamp { by: staff.user.id, at: state.clock.now() };
            state
                .store
                .set_site_setting(crate::pages::checkin::PHONE_SETTING, &phone, stamp)
                .await?;
            Ok(see_other("/admin/settings"))
        }
        Err(e) => {
            settings_page(
                &state,
                &staff,
                FormState::with_error(form.clone(), e),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// The new account a user form carries: username, display name and role. The password is
/// checked against the rules here and hashed by the caller.
pub(crate) fn read_new_user(
    form: &FormValues,
) -> Result<(String, String, Role), marrow_domain::FieldError> {
    let username = parse_username(form.get("username"))?;
    let display_name = required_text("display_name", form.get("display_name"), 200)?;
    let role = Role::parse(form.get("role"))?;
    check_new_password(form.get("password"))?;
    Ok((username, display_name, role))
}

/// The safety limits a settings form carries: minimum platelets, maximum INR, how old the
/// bloods may be (hours) and the anticoagulant policy.
pub(crate) fn read_safety_settings(
    form: &FormValues,
) -> Result<
    (marrow_domain::safety::PlateletCount, marrow_domain::safety::Inr, u32, DrugPolicy),
    marrow_domain::FieldError,
> {
    let platelets = marrow_domain::safety::PlateletCount::parse(form.get("platelets_min"))
        .map_err(|e| e.at("platelets_min"))?;
    let inr =
        marrow_domain::safety::Inr::parse(form.get("inr_max")).map_err(|e| e.at("inr_max"))?;
    let hours: u32 = form
        .get("bloods_max_age_hours")
        .trim()
        .parse()
        .ok()
        .filter(|h| (1..=720).contains(h))
        .ok_or_else(|| {
            marrow_domain::FieldError::new(
                "bloods_max_age_hours",
                "must be a whole number of hours from 1 to 720",
            )
        })?;
    let drugs = DrugPolicy::parse(form.get("drug_policy"))?;
    Ok((platelets, inr, hours, drugs))
}

/// The classes a counting-rules form leaves out of the denominator.
pub(crate) fn read_counting_rules(
    form: &FormValues,
) -> Result<marrow_domain::morphology::CountingRules, marrow_domain::FieldError> {
    marrow_domain::morphology::CountingRules::parse(form.all("excluded"))
}
