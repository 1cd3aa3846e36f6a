"""Create the SageMaker model, endpoint config and endpoint a sagemaker env renders, on
moto, and print what moto's Describe* calls answer (JSON on stdout); then delete them.

Run by tests/emulator/sagemaker_control_plane.rs with the moto venv's Python (boto3 is a
dependency of moto). Input on stdin: {"endpoint_url", "region", "model", "endpoint_config",
"endpoint"}: the rendered resources' Properties with every intrinsic already resolved,
plus the names CloudFormation would have generated (ModelName, EndpointConfigName).
Nothing is translated: CloudFormation's property names are the API's parameter names.
"""

import json
import sys

import boto3


def main() -> None:
    spec = json.load(sys.stdin)
    url = spec["endpoint_url"]
    if not (url.startswith("http://127.") or url.startswith("http://localhost")):
        sys.exit(f"refusing a non-loopback SageMaker endpoint: {url}")
    sm = boto3.client(
        "sagemaker",
        endpoint_url=url,
        region_name=spec["region"],
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    model, config, endpoint = spec["model"], spec["endpoint_config"], spec["endpoint"]
    out = {}
    try:
        sm.create_model(**model)
        sm.create_endpoint_config(**config)
        sm.create_endpoint(**endpoint)
        out["model"] = sm.describe_model(ModelName=model["ModelName"])
        out["endpoint_config"] = sm.describe_endpoint_config(
            EndpointConfigName=config["EndpointConfigName"]
        )
        out["endpoint"] = sm.describe_endpoint(EndpointName=endpoint["EndpointName"])
    finally:
        for call, key, name in [
            (sm.delete_endpoint, "EndpointName", endpoint["EndpointName"]),
            (sm.delete_endpoint_config, "EndpointConfigName", config["EndpointConfigName"]),
            (sm.delete_model, "ModelName", model["ModelName"]),
        ]:
            try:
                call(**{key: name})
            except Exception as err:  # a create that failed left nothing to delete
                print(f"cleanup {name}: {err}", file=sys.stderr)
    for answer in out.values():
        answer.pop("ResponseMetadata", None)
    json.dump(out, sys.stdout, default=str, sort_keys=True)


if __name__ == "__main__":
    main()
