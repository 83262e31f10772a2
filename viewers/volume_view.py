"""The 3D view: volume rendering with presets (CT bone, CT soft tissue, MIP) and an isosurface.

VTK is imported inside functions so that importing this module costs nothing until a 3D view is
made. The numpy volume reaches VTK without a copy (``numpy_to_vtk(deep=False)``); the scene keeps
the numpy array referenced for as long as VTK uses it. :class:`VolumeScene` is the pipeline on any
renderer (the Qt widget, or a plain offscreen window for benchmarks); :class:`QtVolumeView` puts it
in the Qt window through QVTKRenderWindowInteractor and removes its observers and finalizes the
interactor on close.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import numpy as np
from PySide6.QtWidgets import QVBoxLayout, QWidget

from viewers.dicom.volume import Volume


class Render3D(StrEnum):
    CT_BONE = "ct_bone"
    CT_SOFT_TISSUE = "ct_soft_tissue"
    MIP = "mip"
    ISOSURFACE = "isosurface"


# (value, r, g, b) colour and (value, opacity) points per preset, in HU
_COLOURS: dict[Render3D, list[tuple[float, float, float, float]]] = {
    Render3D.CT_BONE: [(-1000, 0, 0, 0), (150, 0.55, 0.25, 0.15), (400, 0.9, 0.82, 0.7), (1500, 1, 1, 0.95)],
    Render3D.CT_SOFT_TISSUE: [
        (-1000, 0, 0, 0),
        (-600, 0.6, 0.35, 0.3),
        (0, 0.85, 0.55, 0.45),
        (80, 0.9, 0.4, 0.35),
        (400, 1, 0.95, 0.85),
    ],
    Render3D.MIP: [(-1000, 0, 0, 0), (1500, 1, 1, 1)],
}
_OPACITY: dict[Render3D, list[tuple[float, float]]] = {
    Render3D.CT_BONE: [(-1000, 0), (150, 0), (300, 0.15), (700, 0.6), (1500, 0.85)],
    Render3D.CT_SOFT_TISSUE: [
        (-1000, 0),
        (-600, 0),
        (-400, 0.05),
        (20, 0.1),
        (80, 0.3),
        (400, 0.6),
        (1500, 0.8),
    ],
    Render3D.MIP: [(-1000, 0), (1500, 1)],
}
ISO_DEFAULT_HU = 300.0
_SOFTWARE_GL: bool | None = None


def software_opengl(window: Any) -> bool:
    """Whether ``window`` draws through a software OpenGL (Mesa llvmpipe/softpipe), learnt once.

    There the CPU ray caster is about ten times faster than the GPU ray caster emulated on the CPU
    (measured on the 2-core workstation: 270 ms against 2.5 s per 512x512 frame of a 256x256x120 CT).
    """
    global _SOFTWARE_GL
    if _SOFTWARE_GL is None:
        if window.GetNeverRendered():
            window.Render()
        caps = str(window.ReportCapabilities()).lower()
        _SOFTWARE_GL = any(name in caps for name in ("llvmpipe", "softpipe", "swrast"))
    return _SOFTWARE_GL


def image_data(volume: Volume) -> tuple[Any, np.ndarray]:
    """A vtkImageData sharing memory with the volume's array; keep the returned array alive with it."""
    from vtkmodules.util import numpy_support
    from vtkmodules.vtkCommonDataModel import vtkImageData

    array = volume.array
    if array.ndim != 3:
        raise ValueError("3D rendering needs a grey volume (z, y, x)")
    flat_source = np.ascontiguousarray(array)  # no copy when already contiguous (the loader's array)
    flat = flat_source.reshape(-1)
    nz, ny, nx = array.shape
    data = vtkImageData()
    data.SetDimensions(nx, ny, nz)
    data.SetSpacing(*(float(s) for s in volume.spacing))
    data.SetOrigin(*(float(o) for o in volume.origin))
    data.SetDirectionMatrix(*(float(v) for v in np.asarray(volume.direction, dtype=np.float64).reshape(-1)))
    scalars = numpy_support.numpy_to_vtk(flat, deep=False)
    scalars.SetName("values")
    data.GetPointData().SetScalars(scalars)
    return data, flat


class VolumeScene:
    """The 3D pipeline on a vtkRenderer: one volume prop or one isosurface actor at a time."""

    def __init__(self, renderer: Any) -> None:
        self.renderer = renderer
        self.mode = Render3D.CT_BONE
        self.iso_value = ISO_DEFAULT_HU
        self._data: Any = None
        self._keep: np.ndarray | None = None  # the numpy memory VTK reads
        self._prop: Any = None
        self.renderer.SetBackground(0.05, 0.05, 0.08)

    def set_volume(self, volume: Volume | None) -> None:
        self._clear_prop()
        if volume is None or volume.array.ndim != 3:
            self._data, self._keep = None, None
            return
        self._data, self._keep = image_data(volume)
        self._build()
        self.renderer.ResetCamera()
        camera = self.renderer.GetActiveCamera()
        # patient upright, seen from the front (anterior), as radiologists orient a 3D view
        focal = np.asarray(camera.GetFocalPoint())
        distance = camera.GetDistance()
        camera.SetPosition(*(focal + np.array([0.0, -distance, 0.0])))
        camera.SetViewUp(0.0, 0.0, 1.0)
        # a little from the patient's left and above, so depth reads at first sight
        camera.Azimuth(30.0)
        camera.Elevation(20.0)
        camera.OrthogonalizeViewUp()
        self.renderer.ResetCamera()

    def set_mode(self, mode: Render3D, iso_value: float | None = None) -> None:
        self.mode = mode
        if iso_value is not None:
            self.iso_value = float(iso_value)
        if self._data is not None:
            self._clear_prop()
            self._build()

    def _clear_prop(self) -> None:
        if self._prop is not None:
            self.renderer.RemoveViewProp(self._prop)
            self._prop = None

    def _build(self) -> None:
        if self.mode is Render3D.ISOSURFACE:
            self._prop = self._isosurface()
        else:
            self._prop = self._volume_prop()
        self.renderer.AddViewProp(self._prop)

    def _volume_prop(self) -> Any:
        from vtkmodules.vtkCommonDataModel import vtkPiecewiseFunction
        from vtkmodules.vtkRenderingCore import vtkColorTransferFunction, vtkVolume, vtkVolumeProperty
        from vtkmodules.vtkRenderingVolumeOpenGL2 import vtkSmartVolumeMapper

        mapper = vtkSmartVolumeMapper()
        mapper.SetInputData(self._data)
        window = self.renderer.GetRenderWindow()
        if window is not None and software_opengl(window):
            mapper.SetRequestedRenderModeToRayCast()
        if self.mode is Render3D.MIP:
            mapper.SetBlendModeToMaximumIntensity()
        colours = vtkColorTransferFunction()
        for value, r, g, b in _COLOURS[self.mode]:
            colours.AddRGBPoint(value, r, g, b)
        opacity = vtkPiecewiseFunction()
        for value, alpha in _OPACITY[self.mode]:
            opacity.AddPoint(value, alpha)
        prop = vtkVolumeProperty()
        prop.SetColor(colours)
        prop.SetScalarOpacity(opacity)
        prop.SetInterpolationTypeToLinear()
        if self.mode is not Render3D.MIP:
            prop.ShadeOn()
            prop.SetAmbient(0.3)
            prop.SetDiffuse(1.0)
            prop.SetSpecular(0.1)
        volume = vtkVolume()
        volume.SetMapper(mapper)
        volume.SetProperty(prop)
        return volume

    def _isosurface(self) -> Any:
        from vtkmodules.vtkFiltersCore import vtkFlyingEdges3D
        from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper

        surface = vtkFlyingEdges3D()
        surface.SetInputData(self._data)
        surface.SetValue(0, self.iso_value)
        surface.ComputeNormalsOn()
        mapper = vtkPolyDataMapper()
        mapper.SetInputConnection(surface.GetOutputPort())
        mapper.ScalarVisibilityOff()
        actor = vtkActor()
        actor.SetMapper(mapper)
        actor.GetProperty().SetColor(0.93, 0.88, 0.78)
        actor.GetProperty().SetSpecular(0.3)
        return actor

    def close(self) -> None:
        self._clear_prop()
        self._data, self._keep = None, None


def render_offscreen(
    volume: Volume, mode: Render3D = Render3D.CT_BONE, size: int = 512, frames: int = 10
) -> tuple[list[float], np.ndarray]:
    """Render ``frames`` frames (rotating the camera) in a plain offscreen VTK window (EGL, no Qt).

    Returns the frame times in ms (the first includes building the pipeline) and the last image
    as an (h, w, 3) uint8 array.
    """
    import time

    import vtkmodules.vtkRenderingOpenGL2  # noqa: F401 - registers the OpenGL back end
    from vtkmodules.util import numpy_support
    from vtkmodules.vtkRenderingCore import vtkRenderer, vtkRenderWindow, vtkWindowToImageFilter

    window = vtkRenderWindow()
    window.SetOffScreenRendering(1)
    window.SetSize(size, size)
    renderer = vtkRenderer()
    window.AddRenderer(renderer)
    scene = VolumeScene(renderer)
    times = []
    try:
        scene.set_volume(volume)
        scene.set_mode(mode)
        for _ in range(frames):
            start = time.perf_counter()
            window.Render()
            times.append((time.perf_counter() - start) * 1000.0)
            renderer.GetActiveCamera().Azimuth(360.0 / max(frames, 1))
        grab = vtkWindowToImageFilter()
        grab.SetInput(window)
        grab.ReadFrontBufferOff()
        grab.Update()
        out = grab.GetOutput()
        w, h, _ = out.GetDimensions()
        pixels = numpy_support.vtk_to_numpy(out.GetPointData().GetScalars()).reshape(h, w, -1)[::-1, :, :3]
        return times, np.array(pixels)
    finally:
        scene.close()
        window.Finalize()


class QtVolumeView(QWidget):
    """VTK 3D view in the Qt window; rotate with the left button, zoom with the wheel."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("volumeView")
        import vtkmodules.vtkRenderingOpenGL2  # noqa: F401 - registers the OpenGL back end
        from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor
        from vtkmodules.vtkInteractionStyle import vtkInteractorStyleTrackballCamera
        from vtkmodules.vtkRenderingCore import vtkRenderer

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.vtk_widget = QVTKRenderWindowInteractor(self)
        layout.addWidget(self.vtk_widget)
        self.renderer = vtkRenderer()
        self.render_window = self.vtk_widget.GetRenderWindow()
        self.render_window.AddRenderer(self.renderer)
        self.interactor = self.render_window.GetInteractor()
        self.interactor.SetInteractorStyle(vtkInteractorStyleTrackballCamera())
        self.scene = VolumeScene(self.renderer)
        self._observers: list[tuple[Any, int]] = []
        tag = self.interactor.AddObserver("EndInteractionEvent", self._interaction_ended)
        self._observers.append((self.interactor, tag))
        self.interactions = 0
        self._initialized = False
        self._closed = False
        self.annotation_actors: Any = None  # viewers.annotation_actors.AnnotationActors, when attached
        self.tool = ""  # "landmark": a left click on the rendering places one there (issue 7)
        tag = self.interactor.AddObserver("LeftButtonPressEvent", self._left_press, 1.0)
        self._observers.append((self.interactor, tag))
        self._press_tag = tag

    def _interaction_ended(self, _obj: Any, _event: str) -> None:
        self.interactions += 1

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if not self._initialized and not self._closed:
            self._initialized = True
            self.vtk_widget.Initialize()

    def set_volume(self, volume: Volume | None) -> None:
        self.scene.set_volume(volume)
        self.render()

    def set_mode(self, mode: Render3D, iso_value: float | None = None) -> None:
        self.scene.set_mode(mode, iso_value)
        self.render()

    def attach_annotations(self, context: Any) -> None:
        """Show the patient-space annotations of ``context`` (an AnnotationContext) in the scene."""
        from viewers.annotation_actors import AnnotationActors

        if self.annotation_actors is not None:
            self.annotation_actors.close()
        self.annotation_actors = AnnotationActors(self.renderer, context, render=self.render)

    def set_tool(self, tool: object) -> None:
        self.tool = str(tool)

    def place_landmark_at(self, x: float, y: float) -> Any:
        """Add a landmark where display pixel (x, y) (y up) meets the rendering; None on background."""
        from viewers.annotation_actors import pick_lps

        if self.annotation_actors is None:
            return None
        point = pick_lps(self.renderer, x, y)
        if point is None:
            return None
        try:
            return self.annotation_actors.context.add_landmark(point)
        except ValueError:
            return None

    def _left_press(self, _obj: Any, _event: str) -> None:
        if self.tool != "landmark" or self.annotation_actors is None:
            return
        x, y = self.interactor.GetEventPosition()
        if self.place_landmark_at(x, y) is not None:
            self.interactor.GetCommand(self._press_tag).SetAbortFlag(1)  # no rotation for this click

    def render(self) -> None:  # type: ignore[override]
        if not self._closed and self.isVisible():
            self.render_window.Render()

    def grab_frame(self) -> np.ndarray:
        """The rendered frame as (h, w, 3) uint8 (QWidget.grab() of a VTK widget is black)."""
        from vtkmodules.util import numpy_support
        from vtkmodules.vtkRenderingCore import vtkWindowToImageFilter

        self.render_window.Render()
        grab = vtkWindowToImageFilter()
        grab.SetInput(self.render_window)
        grab.ReadFrontBufferOff()
        grab.Update()
        out = grab.GetOutput()
        w, h, _ = out.GetDimensions()
        pixels = numpy_support.vtk_to_numpy(out.GetPointData().GetScalars()).reshape(h, w, -1)
        return np.array(pixels[::-1, :, :3])

    def close_model(self) -> None:
        """Remove observers, drop the scene and finalize the interactor; twice is harmless."""
        if self._closed:
            return
        self._closed = True
        for obj, tag in self._observers:
            obj.RemoveObserver(tag)
        self._observers.clear()
        if self.annotation_actors is not None:
            self.annotation_actors.close()
        self.scene.close()
        self.render_window.RemoveRenderer(self.renderer)
        self.vtk_widget.hide()  # a paint event after Finalize() would render into a dead window
        self.vtk_widget.Finalize()

    def closeEvent(self, event: Any) -> None:
        self.close_model()
        super().closeEvent(event)
