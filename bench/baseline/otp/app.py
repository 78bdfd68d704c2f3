"""The baseline: POST /otp as most tutorials write it. Used by `make bench` only, never deployed.

Powertools Logger and resolver, a boto3 S3 client created at import, pyotp and segno with default options.
"""

import io
import os
import uuid

import boto3
import pyotp
import segno
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver

logger = Logger()
app = APIGatewayRestResolver()
s3 = boto3.client("s3")
BUCKET = os.environ["IMAGE_BUCKET_NAME"]


@app.post("/otp")
def otp():
    params = app.current_event.json_body or {}
    digits = int(params.get("digits", 6))
    if params.get("action") == "generate":
        secret = pyotp.random_base32()
        totp = pyotp.TOTP(secret, digits=digits)
        uri = totp.provisioning_uri(name=params.get("label", ""), issuer_name=params.get("issuer"))
        buffer = io.BytesIO()
        segno.make(uri).save(buffer, kind="png", scale=4)
        key = f"qr/{uuid.uuid4()}.png"
        s3.put_object(Bucket=BUCKET, Key=key, Body=buffer.getvalue(), ContentType="image/png")
        url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=300)
        return {"secret": secret, "otp_url": uri, "qrcode_url": url, "digits": digits, "type": "totp"}
    totp = pyotp.TOTP(params["secret"], digits=digits)
    code = params.get("code")
    return {"otp_codes": {"current": totp.now()}, "valid": totp.verify(code, valid_window=1) if code else None}


@logger.inject_lambda_context
def lambda_handler(event, context):
    return app.resolve(event, context)
