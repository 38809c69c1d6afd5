//! Site settings the rules read: the safety-check limits (defaults from the clinical reference,
//! changed by an administrator at `/admin/settings`).

use marrow_domain::safety::{Inr, PlateletCount};
use marrow_domain::safety_rules::{DrugPolicy, DrugTable, SitePolicy};

use crate::AppState;
use crate::error::AppError;

/// Setting names.
pub const PLATELETS_MIN: &str = "safety.platelets_min";
/// INR above which the procedure does not proceed.
pub const INR_MAX: &str = "safety.inr_max";
/// How old a platelet count or INR may be, in hours.
pub const BLOODS_MAX_AGE_HOURS: &str = "safety.bloods_max_age_hours";
/// Which drug table applies.
pub const DRUG_POLICY: &str = "safety.drug_policy";

/// The site's safety policy: the reference's defaults with the site's changes applied.
pub async fn site_policy(state: &AppState) -> Result<SitePolicy, AppError> {
    let mut policy = SitePolicy::default();
    let store = &state.store;
    if let Some(v) = store.site_setting(PLATELETS_MIN).await? {
        policy.platelets_min = PlateletCount::parse(&v)
            .map_err(|e| AppError::Internal(format!("setting {PLATELETS_MIN}: {e}")))?;
    }
    if let Some(v) = store.site_setting(INR_MAX).await? {
        policy.inr_max =
            Inr::parse(&v).map_err(|e| AppError::Internal(format!("setting {INR_MAX}: {e}")))?;
    }
    if let Some(v) = store.site_setting(BLOODS_MAX_AGE_HOURS).await? {
        policy.bloods_max_age_hours =
            v.parse().map_err(|_| AppError::Internal(format!("setting {BLOODS_MAX_AGE_HOURS}")))?;
    }
    if let Some(v) = store.site_setting(DRUG_POLICY).await? {
        let drug_policy = DrugPolicy::parse(&v)
            .map_err(|e| AppError::Internal(format!("setting {DRUG_POLICY}: {e}")))?;
        policy.drugs = DrugTable::sir_2019(drug_policy);
    }
    Ok(policy)
}
