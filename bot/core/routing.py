"""The policy's `rollout.traffic_routing` and `rollout.shadow`: what a valid setting is. Pure.

A traffic router makes a canary's weights exact (Argo Rollouts sets them on the router
instead of approximating them with pods, `bot.core.traffic`). A shadow phase mirrors a share
of the live requests to the canary before any user gets its answers; only routers that can
mirror (Istio, the Gateway API plugin) run one.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator

from bot.core.names import is_dns_label

Provider = Literal["istio", "nginx", "gatewayapi", "smi"]
MIRRORING_PROVIDERS: tuple[Provider, ...] = ("istio", "gatewayapi")
PROVIDER_NAMES = {
    "istio": "Istio",
    "nginx": "NGINX Ingress",
    "gatewayapi": "the Gateway API plugin",
    "smi": "SMI",
}
GATEWAY_API_PLUGIN = "argoproj-labs/gatewayAPI"
MIRROR_ROUTE = "mirror-shadow"


def _name(value: str | None) -> str | None:
    if value is not None and not is_dns_label(value):
        raise ValueError(
            f"bad name {value!r} (lowercase letters, digits and '-', at most 63, e.g. fraud-detector)"
        )
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TrafficRouting(_Strict):
    """Where Argo Rollouts sets the canary's weight. Object names default to the model's name;
    the bot renders the objects in `manifests` mode (routing.yaml)."""

    provider: Provider
    virtual_service: str | None = Field(
        default=None, description="istio: the VirtualService; default the model's name"
    )
    routes: tuple[str, ...] = Field(
        default=("primary",), description="istio: the VirtualService's HTTP routes to weigh"
    )
    destination_rule: StrictBool = Field(
        default=False,
        description="istio: one Service and DestinationRule subsets canary/stable instead "
        "of a canary and a stable Service",
    )
    gateways: tuple[str, ...] = Field(
        default=(), description="istio: the VirtualService's gateways (none: mesh traffic)"
    )
    host: str | None = Field(
        default=None, description="nginx, istio: the host name requests arrive for"
    )
    gateway: str | None = Field(
        default=None, description="gatewayapi: the Gateway the HTTPRoute attaches to"
    )

    @field_validator("virtual_service", "gateway")
    @classmethod
    def _names(cls, value: str | None) -> str | None:
        return _name(value)

    @field_validator("routes", "gateways")
    @classmethod
    def _name_list(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            _name(item)
        if len(set(value)) != len(value):
            raise ValueError(f"names repeat in {list(value)} (list each once)")
        return value

    @field_validator("host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        if value is not None and not all(is_dns_label(p) for p in value.split(".")):
            raise ValueError(f"bad host {value!r} (a DNS name, e.g. fraud.example.com)")
        return value

    def problems(self) -> list[tuple[str, str]]:
        """(field, message) of settings that do not fit the provider."""
        found: list[tuple[str, str]] = []
        istio_only = ("virtual_service", "destination_rule", "gateways")
        set_fields = self.model_fields_set
        if self.provider != "istio":
            for field in istio_only:
                if field in set_fields:
                    found.append((field, f"is for provider istio, not {self.provider}"))
            if "routes" in set_fields:
                found.append(("routes", f"is for provider istio, not {self.provider}"))
        if self.provider == "istio" and not self.routes:
            found.append(("routes", "needs at least one route name (e.g. [primary])"))
        if self.provider == "gatewayapi" and self.gateway is None:
            found.append(("gateway", "provider gatewayapi needs the Gateway's name"))
        if self.provider != "gatewayapi" and self.gateway is not None:
            found.append(("gateway", f"is for provider gatewayapi, not {self.provider}"))
        if self.provider in ("smi", "gatewayapi") and self.host is not None:
            found.append(("host", f"is for providers istio and nginx, not {self.provider}"))
        return found


class Shadow(_Strict):
    """A phase before the weighted steps: canary pods get a mirrored copy of `percentage` of
    the requests for `duration`; their answers go nowhere, users get the stable version's."""

    percentage: StrictInt = Field(default=100, ge=1, le=100, description="share mirrored")
    duration: str = Field(
        default="30m", description="how long the mirror runs, e.g. 30m (checked by the Rollout)"
    )
    analysis: StrictBool = Field(
        default=True, description="run the analysis (canary vs stable) on the mirrored traffic"
    )
    canary_weight: StrictInt = Field(
        default=0, ge=0, le=100, description="setCanaryScale weight: canary pods to start"
    )

    @property
    def scale_weight(self) -> int:
        """The canary's size during the shadow, as a share of replicas (at least one pod)."""
        return self.canary_weight or self.percentage


ROUTER_FILES = ("istio", "nginx", "gatewayapi")  # providers whose objects the bot renders


def service_names(model: str, strategy: str, routing: TrafficRouting | None) -> tuple[str, ...]:
    """The Services a model's Rollout needs: the model's own (all its pods; blueGreen's
    active Service), plus preview (blueGreen) or canary and stable (a router that splits
    between Services; Istio with DestinationRule subsets splits within one)."""
    if strategy == "blueGreen":
        return (model, f"{model}-preview")
    if routing is None or (routing.provider == "istio" and routing.destination_rule):
        return (model,)
    return (model, f"{model}-stable", f"{model}-canary")


def routing_context(
    model: str, strategy: str, routing: TrafficRouting | None, port: int, target_port: int
) -> dict[str, object]:
    """What the templates need to render the Rollout's `trafficRouting`, the Services and
    the router's objects (`routing.yaml`): names default to the model's."""
    services = service_names(model, strategy, routing)
    split = len(services) == 3
    return {
        "provider": routing.provider if routing is not None else None,
        "services": list(services),
        "root_service": model,
        "stable_service": services[1] if split else None,
        "canary_service": services[2] if split else None,
        "port": port,
        "target_port": target_port,
        "virtual_service": (routing.virtual_service if routing else None) or model,
        "routes": list(routing.routes) if routing else [],
        "destination_rule": bool(routing and routing.destination_rule),
        "gateways": list(routing.gateways) if routing else [],
        "host": (routing.host if routing else None)
        or (model if routing is None or routing.provider == "istio" else None),
        "gateway": routing.gateway if routing else None,
        "ingress": model,
        "http_route": model,
        "plugin": GATEWAY_API_PLUGIN,
        "mirror_route": MIRROR_ROUTE,
    }


def shadow_problem(shadow: Shadow | None, routing: TrafficRouting | None) -> str | None:
    if shadow is None:
        return None
    if routing is None:
        return (
            "a shadow phase mirrors requests, which needs traffic_routing with provider "
            "istio or gatewayapi (add one, or remove shadow)"
        )
    if routing.provider not in MIRRORING_PROVIDERS:
        return (
            f"{PROVIDER_NAMES[routing.provider]} cannot mirror requests: a shadow phase needs "
            "provider istio or gatewayapi (change the provider, or remove shadow)"
        )
    return None


__all__ = [
    "GATEWAY_API_PLUGIN",
    "MIRRORING_PROVIDERS",
    "MIRROR_ROUTE",
    "PROVIDER_NAMES",
    "ROUTER_FILES",
    "Provider",
    "Shadow",
    "TrafficRouting",
    "routing_context",
    "service_names",
    "shadow_problem",
]
