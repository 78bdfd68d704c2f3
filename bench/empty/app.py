"""An empty handler: what the cold-start harness itself costs (interpreter, bench/child.py), for reference."""


def lambda_handler(event, context):
    return {"statusCode": 200}
