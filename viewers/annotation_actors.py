"""Patient-space annotations in the 3D VTK scene (issue 7).

VTK's world coordinates in :mod:`viewers.volume_view` are patient coordinates (the image data carries
the volume's origin, spacing and direction), so annotation points go in as they are stored (LPS, mm).
Landmarks are spheres, trajectories a tube from an entry sphere (green) to a target sphere (red), a
plane a translucent square with its outline, labels a caption that faces the camera. A needle lies
inside the body, where the volume rendering hides it: so each solid prop also has a faint ghost in an
overlay layer that shares the camera and draws over the volume (the solid one keeps the true depth
cues), and captions live only in that layer, always readable. The props follow the shared document:
a change rebuilds only the annotations that changed. VTK is imported inside the functions (it is not a
start-up cost); :meth:`AnnotationActors.close` removes every prop and the overlay layer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from viewers.annotation_layer import (
    LABEL,
    LANDMARK,
    PLANE,
    TRAJECTORY,
    AnnotationContext,
    colour_of,
    kind_of,
    plane_frame,
    trajectory_metrics,
)

ENTRY_RGB = (0.4, 0.73, 0.42)
TARGET_RGB = (0.94, 0.33, 0.31)
LANDMARK_RADIUS_MM = 2.5
TUBE_RADIUS_MM = 0.8
GHOST_OPACITY = 0.35
CAPTION_OFFSET = (10, 6)  # screen pixels from the anchor point


def hex_rgb(colour: str) -> tuple[float, float, float]:
    text = colour.lstrip("#")
    if len(text) != 6:
        return (0.3, 0.82, 0.88)
    try:
        r, g, b = (int(text[k : k + 2], 16) / 255.0 for k in (0, 2, 4))
    except ValueError:
        return (0.3, 0.82, 0.88)
    return (r, g, b)


def _actor(source: Any, rgb: tuple[float, float, float], opacity: float = 1.0) -> Any:
    from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper

    mapper = vtkPolyDataMapper()
    mapper.SetInputConnection(source.GetOutputPort())
    actor = vtkActor()
    actor.SetMapper(mapper)
    prop = actor.GetProperty()
    prop.SetColor(*rgb)
    prop.SetOpacity(opacity)
    prop.SetSpecular(0.3)
    return actor


def _sphere(centre: Any, radius: float, rgb: tuple[float, float, float]) -> Any:
    from vtkmodules.vtkFiltersSources import vtkSphereSource

    source = vtkSphereSource()
    source.SetCenter(*(float(v) for v in centre))
    source.SetRadius(radius)
    source.SetThetaResolution(20)
    source.SetPhiResolution(14)
    return _actor(source, rgb)


def _caption(anchor: Any, text: str, rgb: tuple[float, float, float]) -> Any:
    import vtkmodules.vtkRenderingFreeType  # noqa: F401 - registers the text renderer
    from vtkmodules.vtkRenderingCore import vtkBillboardTextActor3D

    actor = vtkBillboardTextActor3D()
    actor.SetInput(text)
    actor.SetPosition(*(float(v) for v in anchor))
    actor.SetDisplayOffset(*CAPTION_OFFSET)
    prop = actor.GetTextProperty()
    prop.SetFontSize(15)
    prop.SetColor(*rgb)
    prop.SetBackgroundColor(0.0, 0.0, 0.0)
    prop.SetBackgroundOpacity(0.55)
    prop.BoldOn()
    return actor


def ghost_of(actor: Any) -> Any:
    """A faint copy of ``actor`` (same geometry) for the overlay layer."""
    from vtkmodules.vtkRenderingCore import vtkActor

    ghost = vtkActor()
    ghost.SetMapper(actor.GetMapper())
    ghost.GetProperty().DeepCopy(actor.GetProperty())
    ghost.GetProperty().SetOpacity(actor.GetProperty().GetOpacity() * GHOST_OPACITY)
    ghost.PickableOff()
    return ghost


def is_caption(prop: Any) -> bool:
    return bool(prop.IsA("vtkBillboardTextActor3D"))


def build_props(annotation: Any) -> list[Any]:
    """The VTK props that show one patient-space annotation (solid actors and captions)."""
    kind = kind_of(annotation)
    rgb = hex_rgb(colour_of(annotation))
    points = [np.asarray(p, dtype=np.float64) for p in annotation.points]
    text = str(annotation.text or "")
    props: list[Any] = []
    if kind == LANDMARK and points:
        props.append(_sphere(points[0], LANDMARK_RADIUS_MM, rgb))
        if text:
            props.append(_caption(points[0], text, rgb))
    elif kind == LABEL and points:
        props.append(_sphere(points[0], 1.2, rgb))
        props.append(_caption(points[0], text or "•", rgb))
    elif kind == TRAJECTORY and len(points) >= 2:
        from vtkmodules.vtkFiltersCore import vtkTubeFilter
        from vtkmodules.vtkFiltersSources import vtkLineSource

        entry, target = points[0], points[1]
        line = vtkLineSource()
        line.SetPoint1(*entry.tolist())
        line.SetPoint2(*target.tolist())
        tube = vtkTubeFilter()
        tube.SetInputConnection(line.GetOutputPort())
        tube.SetRadius(TUBE_RADIUS_MM)
        tube.SetNumberOfSides(16)
        tube.CappingOn()
        props.append(_actor(tube, rgb))
        props.append(_sphere(entry, LANDMARK_RADIUS_MM, ENTRY_RGB))
        props.append(_sphere(target, LANDMARK_RADIUS_MM * 1.2, TARGET_RGB))
        metrics = trajectory_metrics(entry, target)
        caption = f"{metrics.length_mm:.1f} mm"
        props.append(_caption(target, f"{text}\n{caption}" if text else caption, rgb))
    elif kind == PLANE and len(points) >= 2:
        from vtkmodules.vtkFiltersSources import vtkPlaneSource

        try:
            centre, u, v, half = plane_frame(points)
        except ValueError:
            return []
        source = vtkPlaneSource()
        source.SetOrigin(*(centre - half * u - half * v).tolist())
        source.SetPoint1(*(centre + half * u - half * v).tolist())
        source.SetPoint2(*(centre - half * u + half * v).tolist())
        actor = _actor(source, rgb, opacity=0.3)
        actor.GetProperty().EdgeVisibilityOn()
        actor.GetProperty().SetEdgeColor(*rgb)
        actor.GetProperty().SetLineWidth(2.0)
        props.append(actor)
        if text:  # at a corner, clear of what the plane passes through at its centre
            props.append(_caption(centre + half * u + half * v, text, rgb))
    return props


def pick_lps(renderer: Any, x: float, y: float) -> np.ndarray | None:
    """The patient position (LPS, mm) of what is drawn at display pixel (x, y), y up: the first
    voxel along the ray that the rendering shows as fairly opaque, or a surface; None for background."""
    from vtkmodules.vtkRenderingVolume import vtkVolumePicker

    picker = vtkVolumePicker()
    picker.SetTolerance(0.0005)
    picker.SetVolumeOpacityIsovalue(0.3)
    if not picker.Pick(float(x), float(y), 0.0, renderer):
        return None
    return np.asarray(picker.GetPickPosition(), dtype=np.float64)


def _signature(annotation: Any) -> tuple[Any, ...]:
    return (kind_of(annotation), tuple(annotation.points), annotation.colour, annotation.text)


class AnnotationActors:
    """The context's patient-space annotations as props of one renderer, kept in step with the document.

    Solid actors go into ``renderer``; their ghosts and the captions into an overlay renderer on the
    next layer of the same window (made here when the renderer is in a window), sharing its camera.
    """

    def __init__(
        self, renderer: Any, context: AnnotationContext, render: Callable[[], object] | None = None
    ) -> None:
        self.renderer = renderer
        self.context = context
        self._render = render
        self.overlay = self._make_overlay()
        self._props: dict[str, list[tuple[Any, Any]]] = {}  # id -> (renderer, prop)
        self._signatures: dict[str, tuple[Any, ...]] = {}
        self._closed = False
        self._observer: tuple[Any, int] | None = None
        layer = self.overlay or renderer
        # captions of nearby points would cover each other: lay them out before every frame
        self._observer = (layer, layer.AddObserver("StartEvent", self._layout_captions))
        context.connect(self.sync)
        self.sync()

    def _make_overlay(self) -> Any:
        window = self.renderer.GetRenderWindow()
        if window is None:
            return None
        from vtkmodules.vtkRenderingCore import vtkRenderer

        overlay = vtkRenderer()
        overlay.SetLayer(self.renderer.GetLayer() + 1)
        overlay.InteractiveOff()
        overlay.SetActiveCamera(self.renderer.GetActiveCamera())
        window.SetNumberOfLayers(max(window.GetNumberOfLayers(), overlay.GetLayer() + 1))
        window.AddRenderer(overlay)
        return overlay

    @property
    def annotation_ids(self) -> list[str]:
        return list(self._props)

    def props_for(self, annotation_id: str) -> list[Any]:
        """Every prop of one annotation: solid actors, ghosts and captions."""
        return [prop for _renderer, prop in self._props.get(annotation_id, [])]

    def solid_props_for(self, annotation_id: str) -> list[Any]:
        return [prop for renderer, prop in self._props.get(annotation_id, []) if renderer is self.renderer]

    def sync(self) -> None:
        """Add, rebuild and remove props so that they show exactly what the document holds."""
        if self._closed:
            return
        if self.overlay is not None:  # the scene may have replaced its camera (a new volume)
            self.overlay.SetActiveCamera(self.renderer.GetActiveCamera())
        current = {str(a.id): a for a in self.context.annotations()}
        changed = False
        for gone in [i for i in self._props if i not in current]:
            self._remove(gone)
            changed = True
        for ident, annotation in current.items():
            signature = _signature(annotation)
            if self._signatures.get(ident) == signature:
                continue
            self._remove(ident)
            placed: list[tuple[Any, Any]] = []
            for prop in build_props(annotation):
                if is_caption(prop):
                    placed.append((self.overlay or self.renderer, prop))
                    continue
                placed.append((self.renderer, prop))
                if self.overlay is not None:
                    placed.append((self.overlay, ghost_of(prop)))
            for renderer, prop in placed:
                renderer.AddViewProp(prop)
            self._props[ident] = placed
            self._signatures[ident] = signature
            changed = True
        if changed and self._render is not None:
            self._render()

    def captions(self) -> list[Any]:
        return [prop for placed in self._props.values() for _r, prop in placed if is_caption(prop)]

    def _layout_captions(self, _obj: Any = None, _event: str = "") -> None:
        """Move captions down (in screen pixels) past the ones already placed, nearest first."""
        layer = self.overlay or self.renderer
        boxes: list[tuple[float, float, float, float]] = []
        items = []
        for caption in self.captions():
            layer.SetWorldPoint(*caption.GetPosition(), 1.0)
            layer.WorldToDisplay()
            x, y, depth = layer.GetDisplayPoint()
            items.append((depth, x, y, caption))
        for _depth, x, y, caption in sorted(items, key=lambda item: item[0]):
            size = caption.GetTextProperty().GetFontSize()
            lines = caption.GetInput().split("\n")
            width = max(len(line) for line in lines) * size * 0.62 + 6
            height = len(lines) * size * 1.25 + 4
            left, top = x + CAPTION_OFFSET[0], y + CAPTION_OFFSET[1] + height  # display y runs up
            moved = True
            while moved:
                moved = False
                for bl, bt, bw, bh in boxes:
                    if left < bl + bw and bl < left + width and top > bt - bh and bt > top - height:
                        top = bt - bh - 2
                        moved = True
            boxes.append((left, top, width, height))
            caption.SetDisplayOffset(CAPTION_OFFSET[0], round(top - height - y))

    def _remove(self, ident: str) -> None:
        for renderer, prop in self._props.pop(ident, []):
            renderer.RemoveViewProp(prop)
        self._signatures.pop(ident, None)

    def close(self) -> None:
        """Remove every prop and the overlay layer, and stop following the document; twice is harmless."""
        if self._closed:
            return
        self._closed = True
        self.context.disconnect(self.sync)
        if self._observer is not None:
            obj, tag = self._observer
            obj.RemoveObserver(tag)
            self._observer = None
        for ident in list(self._props):
            self._remove(ident)
        if self.overlay is not None:
            window = self.overlay.GetRenderWindow()
            if window is not None:
                window.RemoveRenderer(self.overlay)
            self.overlay = None
