pub(crate) mod blood;
pub(crate) mod cases;
pub(crate) mod checkin;
pub(crate) mod counts;
pub(crate) mod images;
pub(crate) mod outbox;
pub(crate) mod patients;
pub(crate) mod users;
