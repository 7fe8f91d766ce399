//! How one topic's partitions are split among the members of a group that
//! subscribe to it, by the range assignor.
//!
//! The group's leader assigns with it (`src/group/assignor.rs`), through the
//! [`Rules`] its configuration carries, so a lab can put a learner's version in
//! its place; `Rules::KAFKA` (in `rules`) holds this one.

// ANCHOR: range_assign
/// Kafka's `RangeAssignor` for one topic: contiguous ranges of its
/// partitions, in numeric order, over its `subscribers` in member order; when
/// the count does not divide evenly, the first `count % subscribers` members
/// get one partition more.
pub fn range_assign(partition_count: i32, subscribers: usize) -> Vec<Vec<i32>> {
    let Ok(members) = i32::try_from(subscribers) else {
        return vec![];
    };
    if members == 0 {
        return vec![];
    }
    let per_member = partition_count / members;
    let with_extra = partition_count % members;
    let mut next = 0;
    let ranges: Vec<Vec<i32>> = (0..members)
        .map(|index| {
            let length = per_member + i32::from(index < with_extra);
            next += length;
            (next - length..next).collect()
        })
        .collect();
    assert_eq!(
        next, partition_count,
        "the ranges cover the partitions exactly"
    );
    ranges
}
// ANCHOR_END: range_assign
