// Attachments (docs/API.md, Attachments; docs/attachments.md).

/** An upload as POST /api/attachments answers it. */
export interface Attachment {
  id: string;
  name: string;
  size: number;
  contentType: string;
  sha256: string;
  createdAt: string;
}

/** An attachment as a message shows it; `url` is the authorised download route. */
export interface MessageAttachment extends Pick<Attachment, 'id' | 'name' | 'size' | 'contentType'> {
  url: string;
}
