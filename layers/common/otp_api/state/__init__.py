"""The verify state, below the kinds: `rules` (when a code is accepted and what is written, for every kind: pure),
`table` (the one DynamoDB table, one conditional write per step of a decision) and `conditions` (each condition
written once, read by DynamoDB and by Python alike)."""
