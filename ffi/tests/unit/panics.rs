//! A panic inside an export becomes `FAILSOFT_PANIC` with its message in the thread's last
//! error, and never unwinds into the host. Proven here, on the landing pads themselves, because
//! the release library exports nothing a C test could make panic with.

use crate::error::{
    failsoft_last_error_code, failsoft_last_error_message, landing_pad, landing_pad_or, Status,
};
use crate::{failsoft_abi_version, ABI_VERSION};
use std::ffi::CStr;

fn last_message() -> String {
    let m = failsoft_last_error_message();
    assert!(!m.is_null(), "a panic leaves a last error");
    // SAFETY: a non-NULL last error is a NUL-terminated string valid until the next call.
    unsafe { CStr::from_ptr(m) }.to_string_lossy().into_owned()
}

#[test]
fn panics_are_caught_at_the_boundary_and_named_in_the_last_error() {
    assert_eq!(landing_pad(|| panic!("boom in a status export")), Status::FAILSOFT_PANIC);
    assert_eq!(failsoft_last_error_code(), Status::FAILSOFT_PANIC);
    assert!(last_message().contains("boom in a status export"), "{}", last_message());

    let accessor: i32 = landing_pad_or(-1, || panic!("boom in an accessor"));
    assert_eq!(accessor, -1);
    assert_eq!(failsoft_last_error_code(), Status::FAILSOFT_PANIC);
    assert!(last_message().contains("boom in an accessor"), "{}", last_message());

    // Still usable afterwards, and a success clears the last error.
    assert_eq!(failsoft_abi_version(), ABI_VERSION);
    assert_eq!(landing_pad(|| Ok(())), Status::FAILSOFT_OK);
    assert_eq!(failsoft_last_error_code(), Status::FAILSOFT_OK);
}
