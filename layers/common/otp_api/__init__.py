"""Shared code of otp-api: TOTP, otpauth URIs, image rendering, S3 storage, settings and HTTP plumbing."""
