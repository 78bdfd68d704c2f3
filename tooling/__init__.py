"""What the tests, the bench and the local runner (devserver/) share: template.yaml read (`template`), the
deployment package built for this machine (`packaging`), and SigV4 signing for execute-api (`sigv4`).

None of it runs in Lambda; the runtime code is layers/common/otp_api.
"""
