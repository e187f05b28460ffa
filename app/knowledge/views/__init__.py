"""The pages of knowledge: topics and projects (``topics``), and what came out of
meetings, the close-out and the Werkzeugkoffer (``toolbox``)."""
