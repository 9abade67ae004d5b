# tapeapp.keep's public names (read by the lazy loader in __init__.py, and by editors)
from .explain_files import explain_folder
from .export import export_files, load_model, predict_with_model, save_run
from .project import Project, is_project, load_predictor, open_project, project_zip, write_project
from .records import RunRecord, TableSource, rebuild_schema, restore_run, schema_choices
from .store import Autosave, RunStore, Session, new_id, open_store, valid_id
