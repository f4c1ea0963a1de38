//! Integration tests of the simulator, through real sockets. One test binary, one module per area.

mod binary;
mod control;
mod faults;
mod kv;
mod langfuse;
mod openai;
mod opik;
mod support;
