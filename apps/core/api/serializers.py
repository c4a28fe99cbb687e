from rest_framework import serializers


class CsvUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="UTF-8 CSV with a header row, at most 5 MB.")
