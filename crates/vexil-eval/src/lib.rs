/*!
Vexil's evaluation engine.

(crate documentation is being written)
*/

mod datetime;
pub mod model;
mod operand;

pub use datetime::parse_timestamp;
pub use operand::{parse_number, parse_operand, Operand, OperandError};
