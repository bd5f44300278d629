import django.core.validators
from django.db import migrations, models

import findings.models

# Validators only: Django checks them before a save, so these operations change no table.
FOLDER_NAME = django.core.validators.RegexValidator(
    "\\A(?!\\.)[A-Za-z0-9._-]+\\Z",
    code="invalid_folder_name",
    message=(
        "A folder name is one plain name: letters, digits, '.', '_' and '-', not starting with "
        "a dot, with no '/' or '\\'."
    ),
)
DOCUMENT_FILE_NAME = django.core.validators.RegexValidator(
    "\\A[A-Za-z0-9_-]{1,90}\\.md\\Z",
    code="invalid_document_file_name",
    message=(
        "A document's file name is one plain name ending in .md: up to 90 letters, digits, '_' "
        "and '-' before the .md, with no '/', '\\', leading dot or '..'."
    ),
)


class Migration(migrations.Migration):
    dependencies = [("findings", "0005_login_lockout_windows")]

    operations = [
        migrations.AlterField(
            model_name="finding",
            name="title",
            field=models.CharField(
                max_length=200, validators=[findings.models.validate_single_line]
            ),
        ),
        migrations.AlterField(
            model_name="phase",
            name="name",
            field=models.CharField(
                max_length=50, validators=[findings.models.validate_single_line]
            ),
        ),
        migrations.AlterField(
            model_name="phase",
            name="folder_name",
            field=models.CharField(
                max_length=100,
                unique=True,
                validators=[findings.models.validate_single_line, FOLDER_NAME],
            ),
        ),
        migrations.AlterField(
            model_name="tacticaldocument",
            name="title",
            field=models.CharField(
                max_length=200, validators=[findings.models.validate_single_line]
            ),
        ),
        migrations.AlterField(
            model_name="tacticaldocument",
            name="file_name",
            field=models.CharField(
                max_length=100,
                unique=True,
                validators=[findings.models.validate_single_line, DOCUMENT_FILE_NAME],
            ),
        ),
    ]
