"""The baseline: POST /barcodes (QR codes) as most tutorials write it. Used by `make bench` only."""

import io
import os
import uuid

import boto3
import segno
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver

logger = Logger()
app = APIGatewayRestResolver()
s3 = boto3.client("s3")
BUCKET = os.environ["IMAGE_BUCKET_NAME"]


@app.post("/barcodes")
def barcodes():
    params = app.current_event.json_body or {}
    buffer = io.BytesIO()
    segno.make(params["data"]).save(buffer, kind="png", scale=int(params.get("scale", 2)))
    key = f"barcodes/{uuid.uuid4()}.png"
    s3.put_object(Bucket=BUCKET, Key=key, Body=buffer.getvalue(), ContentType="image/png")
    return {"url": s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=300)}


@logger.inject_lambda_context
def lambda_handler(event, context):
    return app.resolve(event, context)
