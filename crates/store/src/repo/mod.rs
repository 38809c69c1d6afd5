pub(crate) mod cases;
pub(crate) mod patients;
pub(crate) mod users;
