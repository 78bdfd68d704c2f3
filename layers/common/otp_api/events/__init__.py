"""Security events: what changed a key's or a set's state, told on Amazon EventBridge (docs/events.md).

The verify-state table's stream (NEW_AND_OLD_IMAGES) feeds the events function, which compares each item as it was
with the item as it is (`changes`, pure) and sends what changed to the bus (`bus`). The request path (verify,
generate, unlock, revoke) makes no call and waits on nothing for them: an event follows a write DynamoDB committed,
never a refused one, at least once. `catalogue` declares each event, its detail and its schema.
"""
