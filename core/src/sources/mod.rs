//! The sources failsoft reads from.
