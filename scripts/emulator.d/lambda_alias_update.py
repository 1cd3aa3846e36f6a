"""Give LocalStack's CloudFormation an update handler for AWS::Lambda::Alias.

LocalStack 2026.3.0's alias resource provider implements create and delete only: its
`update` raises NotImplementedError, so any stack update that changes the live alias (a
new release, a rollout step's weights) fails on the emulator, while on AWS CloudFormation
updates FunctionVersion, Description and RoutingConfig in place (the resource reference
marks all three "Update requires: No interruption"). This handler does what AWS does: one
UpdateAlias call with the desired FunctionVersion, Description and RoutingConfig, where
no RoutingConfig means an empty weight map (UpdateAlias removes the split then).

CloudFormation writes AdditionalVersionWeights as a list of {FunctionVersion,
FunctionWeight}; the Lambda API takes a map of version to weight. LocalStack's own create
passes the list through unchanged, so the create handler gets the same conversion.

And the alias must not be replaced when only its function was modified. LocalStack's
change-set model gives `Ref <resource>` the change type of that resource, so the alias's
create-only FunctionName (`!Ref Function`) reads as changed whenever the function's
configuration changes, and the alias is "replaced": CreateAlias of the same name, which
Lambda refuses as existing. On AWS a Ref is the physical id, which changes only when the
referenced resource is replaced (the function's name is fixed here, so it never is). The
replacement decision for AWS::Lambda::Alias therefore ignores a FunctionName that is a Ref.

Last, LocalStack's own UpdateAlias fails on any RoutingConfig with weights: it calls its
routing-config validator without the alias's target version (a missing argument, an
InternalError). The validator gets that version here (the one the update names, else the
alias's current one), so UpdateAlias validates weights as CreateAlias does.
"""

import contextvars

from localstack.services.cloudformation.resource_provider import OperationStatus, ProgressEvent

# The FunctionVersion an UpdateAlias call targets, for the routing-config validator.
_TARGET = contextvars.ContextVar("irisctl_alias_target", default=None)


def _routing(model: dict) -> dict:
    weights = (model.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or []
    if isinstance(weights, dict):
        return {"AdditionalVersionWeights": weights}
    return {
        "AdditionalVersionWeights": {
            str(w["FunctionVersion"]): float(w["FunctionWeight"]) for w in weights
        }
    }


class _Properties:
    """The part of NodeProperties the replacement decision reads."""

    def __init__(self, properties):
        self.properties = properties


def _is_ref(node) -> bool:
    return getattr(node, "intrinsic_function", None) == "Ref"


def install_replacement_rule() -> None:
    from localstack.services.cloudformation.engine.v2 import change_set_model

    model = change_set_model.ChangeSetModel
    original = model._resolve_requires_replacement

    def _resolve_requires_replacement(self, node_properties, resource_type):
        if getattr(resource_type, "value", None) == "AWS::Lambda::Alias":
            kept = [
                p
                for p in node_properties.properties
                if not (p.name == "FunctionName" and _is_ref(p.value))
            ]
            node_properties = _Properties(kept)
        return original(self, node_properties, resource_type)

    model._resolve_requires_replacement = _resolve_requires_replacement


def install_update_alias_fix() -> None:
    from localstack.services.lambda_ import api_utils
    from localstack.services.lambda_.provider import LambdaProvider

    original_update = LambdaProvider.update_alias
    original_model = LambdaProvider._create_routing_config_model

    def update_alias(self, context, function_name, name, function_version=None, *args, **kwargs):
        target = None
        try:
            account_id, region = api_utils.get_account_and_region(function_name, context)
            function = self._get_function(
                function_name=api_utils.get_function_name(function_name, context),
                region=region,
                account_id=account_id,
            )
            alias = function.aliases.get(name)
            qualifier = function_version or (alias.function_version if alias else None)
            target = function.versions.get(qualifier) if qualifier else None
        except Exception:  # the original call raises the right error for a missing function
            target = None
        token = _TARGET.set(target)
        try:
            return original_update(self, context, function_name, name, function_version, *args, **kwargs)
        finally:
            _TARGET.reset(token)

    def _create_routing_config_model(self, routing_config_dict, function_version=None):
        if function_version is None:
            function_version = _TARGET.get()
        return original_model(self, routing_config_dict, function_version)

    LambdaProvider.update_alias = update_alias
    LambdaProvider._create_routing_config_model = _create_routing_config_model


def install() -> None:
    install_replacement_rule()
    install_update_alias_fix()
    from localstack.services.lambda_.resource_providers import lambda_alias

    provider = lambda_alias.LambdaAliasProvider
    original_create = provider.create

    def create(self, request):
        model = request.desired_state
        if model.get("RoutingConfig"):
            model["RoutingConfig"] = _routing(model)
        return original_create(self, request)

    def update(self, request):
        model = request.desired_state
        lambda_ = request.aws_client_factory.lambda_
        result = lambda_.update_alias(
            FunctionName=model["FunctionName"],
            Name=model["Name"],
            FunctionVersion=model["FunctionVersion"],
            Description=model.get("Description") or "",
            RoutingConfig=_routing(model),
        )
        model["Id"] = result["AliasArn"]
        return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=model)

    provider.create = create
    provider.update = update
