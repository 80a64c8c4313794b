//! Legacy message sets (magic 0 and 1) converted to magic-2 batches on produce.

use crate::log::{LogConfig, LogError};

/// Converts a legacy message set to v2 batches.
pub fn convert_to_v2(records: &[u8], _config: &LogConfig) -> Result<Vec<u8>, LogError> {
    let magic = records
        .get(crate::log::batch::MAGIC_OFFSET)
        .copied()
        .unwrap_or(0) as i8;
    tracing::warn!(target: "kafka.log.LogValidator", "refusing a magic {magic} message set: legacy conversion is not implemented");
    Err(LogError::UnsupportedMagic(magic))
}
