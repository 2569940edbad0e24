//! The exactly-once index: every stored `event_id` with the fingerprint of its content,
//! rebuilt at start-up from two narrow columns of the table.

use super::*;

/// Event ids are UUIDs, random enough that folding the halves and one multiply spread
/// them well; this hashes 10M ids several times faster than SipHash.
#[derive(Default)]
pub(super) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(buf));
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn write_u128(&mut self, v: u128) {
        self.write_u64((v as u64) ^ ((v >> 64) as u64));
    }
}

/// `event_id` (as u128) → content fingerprint, of every stored event.
pub(super) type IdIndex = HashMap<u128, i64, BuildHasherDefault<IdHasher>>;

pub(super) async fn load_index(warehouse: &Warehouse) -> Result<IdIndex> {
    let ctx = warehouse.context();
    let sql = "SELECT event_id, content_hash FROM events";
    let batches = ctx
        .sql(sql)
        .await
        .map_err(|source| warehouse::Error::Execution { source })?
        .collect()
        .await
        .map_err(|source| warehouse::Error::Execution { source })?;
    let rows = batches.iter().map(|b| b.num_rows()).sum();
    let mut index = IdIndex::with_capacity_and_hasher(rows, Default::default());
    for batch in &batches {
        let ids = warehouse::datafusion::arrow::compute::cast(
            batch.column(0),
            &warehouse::datafusion::arrow::datatypes::DataType::Utf8,
        )
        .map_err(|e| warehouse::Error::Execution { source: e.into() })?;
        let ids = ids.as_string::<i32>();
        let hashes = batch.column(1).as_primitive::<Int64Type>();
        for row in 0..batch.num_rows() {
            if ids.is_null(row) {
                continue;
            }
            if let Ok(id) = Uuid::parse_str(ids.value(row)) {
                index.insert(id.as_u128(), hashes.value(row));
            }
        }
    }
    Ok(index)
}
