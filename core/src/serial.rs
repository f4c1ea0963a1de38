//! Serde for the names core defines once: an enum with an `as_str` serializes as that name, so
//! the JSON every door hands out spells it exactly as core does.

/// `impl Serialize` for enums that have `fn as_str(self) -> &'static str`.
macro_rules! serialize_as_str {
    ($($ty:ty),+ $(,)?) => {$(
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    )+};
}

pub(crate) use serialize_as_str;
