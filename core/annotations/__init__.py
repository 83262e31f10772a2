"""Guidance annotations (issue 7): the shared document, its sync, anchor tracking and guidance maths.

Qt-free: widgets observe :class:`core.annotations.model.AnnotationDocument`.
"""
