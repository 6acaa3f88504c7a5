"""Render a kustomization in pure Python, so the manifests can be checked where no kubectl is installed.

It implements only the kustomize features Sitter's k8s/ tree uses: `resources` (files or directories),
`components`, `namespace`, `images` and JSON 6902 `patches` with a `target` (kind, name, labelSelector).
Any other field is an error rather than silently ignored, and the tests compare this renderer's output
with `kubectl kustomize` wherever kubectl exists, so the two cannot drift apart unnoticed.

    python k8s/render.py k8s/overlays/dev      # print the rendered objects as YAML
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]

SUPPORTED = {"apiVersion", "kind", "resources", "components", "namespace", "images", "patches"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


class KustomizeError(ValueError):
    """The kustomization uses something this renderer does not implement, or is malformed."""


def load_documents(path: Path) -> list[Obj]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def _spec(directory: Path) -> dict[str, Any]:
    kustomization = directory / "kustomization.yaml"
    if not kustomization.is_file():
        raise KustomizeError(f"{directory} has no kustomization.yaml")
    spec: dict[str, Any] = yaml.safe_load(kustomization.read_text()) or {}
    unknown = set(spec) - SUPPORTED
    if unknown:
        raise KustomizeError(f"{kustomization}: unsupported fields {sorted(unknown)}")
    return spec


def render(directory: Path) -> list[Obj]:
    """The objects `kubectl kustomize directory` would print (order aside)."""
    spec = _spec(directory)
    if spec.get("kind") == "Component":
        raise KustomizeError(f"{directory} is a Component; list it under `components`")
    return _build(directory, spec, [])


def _build(directory: Path, spec: dict[str, Any], objects: list[Obj]) -> list[Obj]:
    """Add the resources, let each component add and transform, then apply this level's transformers."""
    objects = list(objects)
    for entry in spec.get("resources", []):
        source = directory / entry
        objects += render(source) if source.is_dir() else load_documents(source)
    for entry in spec.get("components", []):
        component = _spec(directory / entry)
        if component.get("kind") != "Component":
            raise KustomizeError(f"{directory / entry} is listed as a component but is not one")
        objects = _build(directory / entry, component, objects)
    return _transform(directory, spec, objects)


def _transform(directory: Path, spec: dict[str, Any], objects: list[Obj]) -> list[Obj]:
    objects = [copy.deepcopy(obj) for obj in objects]
    for patch in spec.get("patches", []):
        operations = _patch_operations(directory, patch)
        matched = [obj for obj in objects if _selected(obj, patch.get("target", {}))]
        if not matched:
            raise KustomizeError(f"{directory}: patch target {patch.get('target')} matches nothing")
        for obj in matched:
            for operation in operations:
                _json_patch(obj, operation)
    for image in spec.get("images", []):
        for obj in objects:
            for container in _containers(obj):
                _retag(container, image)
    if "namespace" in spec:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = spec["namespace"]
    return objects


def _patch_operations(directory: Path, patch: dict[str, Any]) -> list[Obj]:
    if set(patch) - {"path", "patch", "target"}:
        raise KustomizeError(f"{directory}: unsupported patch fields {sorted(set(patch))}")
    text = (directory / patch["path"]).read_text() if "path" in patch else patch["patch"]
    operations = yaml.safe_load(text)
    if not isinstance(operations, list) or "target" not in patch:
        raise KustomizeError(f"{directory}: only JSON 6902 patches with a target are supported")
    return operations


def _selected(obj: Obj, target: dict[str, Any]) -> bool:
    if set(target) - {"kind", "name", "labelSelector", "group", "version"}:
        raise KustomizeError(f"unsupported patch target fields {sorted(target)}")
    group, _, version = obj["apiVersion"].rpartition("/")
    if "group" in target and target["group"] != group:
        return False
    if "version" in target and target["version"] != version:
        return False
    if "kind" in target and target["kind"] != obj["kind"]:
        return False
    if "name" in target and target["name"] != obj["metadata"]["name"]:
        return False
    labels = obj["metadata"].get("labels", {})
    for term in filter(None, target.get("labelSelector", "").split(",")):
        key, equals, value = term.partition("=")
        if not equals or labels.get(key.strip()) != value.strip():
            return False
    return True


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise KustomizeError(f"JSON pointer {path!r} must start with /")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _json_patch(obj: Obj, operation: Obj) -> None:
    """RFC 6902 add, replace and remove (the operations the overlays use)."""
    op = operation["op"]
    *parents, last = _pointer(operation["path"])
    node: Any = obj
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if op == "remove":
        del node[int(last) if isinstance(node, list) else last]
    elif op == "replace":
        if (isinstance(node, dict) and last not in node) or (isinstance(node, list) and last == "-"):
            raise KustomizeError(f"replace of missing {operation['path']}")
        node[int(last) if isinstance(node, list) else last] = copy.deepcopy(operation["value"])
    elif op == "add":
        value = copy.deepcopy(operation["value"])
        if isinstance(node, list):
            node.insert(len(node) if last == "-" else int(last), value)
        else:
            node[last] = value
    else:
        raise KustomizeError(f"unsupported JSON patch operation {op!r}")


def _containers(obj: Obj) -> list[Obj]:
    pod = obj.get("spec", {}).get("template", {}).get("spec", {})
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


def split_image(image: str) -> tuple[str, str | None]:
    """`registry/name:tag` -> (`registry/name`, `tag`); a port in the registry is not a tag."""
    if "@" in image:
        raise KustomizeError(f"image digests are not supported: {image}")
    name, colon, tag = image.rpartition(":")
    if not colon or "/" in tag:
        return image, None
    return name, tag


def _retag(container: Obj, image: dict[str, Any]) -> None:
    if set(image) - {"name", "newName", "newTag"}:
        raise KustomizeError(f"unsupported image fields {sorted(image)}")
    name, tag = split_image(container["image"])
    if name != image["name"]:
        return
    name = image.get("newName", name)
    tag = str(image["newTag"]) if "newTag" in image else tag
    container["image"] = f"{name}:{tag}" if tag else name


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python k8s/render.py <kustomization directory>", file=sys.stderr)
        return 2
    print(yaml.safe_dump_all(render(Path(argv[0])), sort_keys=False), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
