"""Run otp-api on one machine: the functions of template.yaml behind a local HTTP server, S3 from moto's server.

No AWS account and no Docker: each function runs in its own Python process (like a Lambda instance) with the
environment the template gives it, and receives API Gateway REST proxy events. What the tests and the bench share
with it (template.yaml read, the package built, SigV4 signing) is tooling/.
"""
