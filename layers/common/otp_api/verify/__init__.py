"""The verify core: `rules` (when a code is accepted, and what is written: pure), `store` (one conditional write),
`keys` (secret, sealed_secret or otp_url to key bytes), and one module per kind of one-time password
(`time_based`) that says how a code matches and what state it moves."""
