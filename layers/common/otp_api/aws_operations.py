"""The AWS operations the functions call, by service: botocore's service names, the API's operation names.

The build cuts botocore's data to these (scripts/botocore_data.py: their models, endpoint rule sets and endpoints,
no documentation) into DATA_FOLDER beside this module, and aws.py loads models from there alone: about 70 ms less
of cold start than botocore's ~900 services. A call of an operation missing here fails a test
(tests/unit/test_aws_operations.py), not a request.
"""

OPERATIONS: dict[str, tuple[str, ...]] = {
    # state/table.py; at init (at_init.py), a GetItem of a key no item has opens the connection
    "dynamodb": ("GetItem", "UpdateItem"),
    # kms.py; at init, an Encrypt that nothing can unseal opens the connection
    "kms": ("Encrypt", "Decrypt"),
    # image_bucket.py; GetObject is only presigned, never sent. HeadBucket: botocore's own, when S3 redirects to the
    # bucket's region without naming it (utils.S3RegionRedirectorv2)
    "s3": ("PutObject", "HeadObject", "GetObject", "HeadBucket"),
    # events/bus.py, the events function's (docs/events.md); Lambda's poller, not the code, reads the stream
    "events": ("PutEvents",),
}

# In the built layer: DATA_FOLDER/<botocore version>/, used only by the botocore it was cut from (aws.py)
DATA_FOLDER = "botocore_data"
